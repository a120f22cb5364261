// Command paynotify starts the paynotify function under whichever runtime its environment names
// (AWS Lambda, Tencent SCF, plain HTTP) or runs one event file: `paynotify invoke EVENT.json`.
package main

import (
	"os"

	"github.com/wxfn/wxfn/functions/paynotify"
	"github.com/wxfn/wxfn/shared/runtime"
)

func main() {
	runtime.Start(paynotify.New(os.LookupEnv))
}

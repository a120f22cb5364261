// Command refund starts the refund function under whichever runtime its environment names
// (AWS Lambda, Tencent SCF, plain HTTP) or runs one event file: `refund invoke EVENT.json`.
package main

import (
	"os"

	"github.com/wxfn/wxfn/functions/refund"
	"github.com/wxfn/wxfn/shared/runtime"
)

func main() {
	runtime.Start(refund.New(os.LookupEnv))
}

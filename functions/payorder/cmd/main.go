// Command payorder starts the payorder function under whichever runtime its environment names
// (AWS Lambda, Tencent SCF, plain HTTP) or runs one event file: `payorder invoke EVENT.json`.
package main

import (
	"os"

	"github.com/wxfn/wxfn/functions/payorder"
	"github.com/wxfn/wxfn/shared/runtime"
)

func main() {
	runtime.Start(payorder.New(os.LookupEnv))
}

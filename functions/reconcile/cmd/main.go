// Command reconcile starts the reconcile function under whichever runtime its environment names
// (AWS Lambda, Tencent SCF, plain HTTP) or runs one event file: `reconcile invoke EVENT.json`.
package main

import (
	"os"

	"github.com/wxfn/wxfn/functions/reconcile"
	"github.com/wxfn/wxfn/shared/runtime"
)

func main() {
	runtime.Start(reconcile.New(os.LookupEnv))
}

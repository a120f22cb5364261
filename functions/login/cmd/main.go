// Command login starts the login function under whichever runtime its environment names
// (AWS Lambda, Tencent SCF, plain HTTP) or runs one event file: `login invoke EVENT.json`.
package main

import (
	"os"

	"github.com/wxfn/wxfn/functions/login"
	"github.com/wxfn/wxfn/shared/runtime"
)

func main() {
	runtime.Start(login.New(os.LookupEnv))
}

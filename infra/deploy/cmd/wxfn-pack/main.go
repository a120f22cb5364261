// Command wxfn-pack packs built function binaries into the packages each cloud deploys:
//
//	go run ./infra/deploy/cmd/wxfn-pack -out build build/bin/login build/bin/payorder ...
//
// writes build/aws/NAME.zip (bootstrap), build/scf/NAME.zip (main) and build/scf/NAME/main for
// each binary, NAME being the binary's file name. It imports no function code, so it builds in
// a moment; scripts/build.sh runs it after compiling the binaries.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wxfn/wxfn/infra/deploy"
)

func main() {
	out := flag.String("out", "build", "output directory")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: wxfn-pack [-out DIR] BINARY...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	for _, bin := range flag.Args() {
		b, err := os.ReadFile(bin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wxfn-pack:", err)
			os.Exit(1)
		}
		written, err := deploy.Pack(*out, filepath.Base(bin), b)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wxfn-pack:", err)
			os.Exit(1)
		}
		for _, p := range written {
			fmt.Println("packed", p)
		}
	}
}

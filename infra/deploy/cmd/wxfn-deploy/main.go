// Command wxfn-deploy writes and checks the deployment configs generated from the function
// catalog (functions.Specs()).
//
//	go run ./infra/deploy/cmd/wxfn-deploy                 rewrite serverless.yml and infra/scf/*
//	go run ./infra/deploy/cmd/wxfn-deploy check           fail if they differ from the catalog
//	go run ./infra/deploy/cmd/wxfn-deploy names           print the function names, one a line
//	go run ./infra/deploy/cmd/wxfn-deploy check-template FILE
//	                                                      check a template `serverless package` compiled
//
// Paths are relative to the repository root (the nearest directory above with a go.mod), or to
// -root.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wxfn/wxfn/functions"
	"github.com/wxfn/wxfn/infra/deploy"
)

func main() {
	root := flag.String("root", "", "repository root (default: the nearest directory above with a go.mod)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: wxfn-deploy [-root DIR] [generate | check | names | check-template FILE]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*root, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "wxfn-deploy:", err)
		os.Exit(1)
	}
}

func run(root string, args []string) error {
	cmd := "generate"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if root == "" {
		var err error
		if root, err = findRoot(); err != nil {
			return err
		}
	}
	specs := functions.Specs()
	switch {
	case cmd == "generate" && len(args) == 0:
		files, err := deploy.Files(specs)
		if err != nil {
			return err
		}
		changed, err := deploy.Write(root, files)
		for _, p := range changed {
			fmt.Println("wrote", p)
		}
		return err
	case cmd == "check" && len(args) == 0:
		files, err := deploy.Files(specs)
		if err != nil {
			return err
		}
		problems, err := deploy.Diff(root, files)
		if err != nil {
			return err
		}
		if len(problems) > 0 {
			return fmt.Errorf("deployment configs are out of date; run go run ./infra/deploy/cmd/wxfn-deploy\n  %s", strings.Join(problems, "\n  "))
		}
		return nil
	case cmd == "names" && len(args) == 0:
		for _, s := range specs {
			fmt.Println(s.Name)
		}
		return nil
	case cmd == "check-template" && len(args) == 1:
		b, err := os.ReadFile(args[0])
		if err != nil {
			return err
		}
		if err := deploy.CheckTemplate(b, specs); err != nil {
			return err
		}
		fmt.Printf("%s: %d function(s) match the catalog\n", args[0], len(specs))
		return nil
	}
	flag.Usage()
	return errors.New("unknown command or wrong arguments")
}

// findRoot walks up from the working directory to the module root.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory; pass -root")
		}
		dir = parent
	}
}

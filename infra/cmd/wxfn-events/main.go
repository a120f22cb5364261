// Command wxfn-events makes the signed WeChat Pay notifications among the sample events.
//
// A notification is only accepted within five minutes of its signature and only with the keys of
// the WeChat Pay the function trusts, so a signed sample cannot simply be committed and replayed.
// The committed samples under events/paynotify are real notifications signed with TEST-ONLY keys
// (testkeys.go) at a fixed time; this command regenerates them, and re-signs one for a running
// local stack:
//
//	wxfn-events samples [-dir events/paynotify]
//	    Write the sample notification events (Lambda function URL and SCF function URL formats),
//	    byte for byte reproducible.
//
//	wxfn-events sign [-env .wxfn/dev.env | -stack http://127.0.0.1:8080] [-order OUT_TRADE_NO]
//	                 [-refund OUT_REFUND_NO] [-keep-id] [-tamper] [-o FILE] SAMPLE.json
//	    Re-sign SAMPLE for the running stack: the resource is decrypted with the test-only APIv3
//	    key, filled from the emulator's own record of the order (-order) or refund (-refund),
//	    encrypted with the stack's APIv3 key and signed with the emulator's platform key at the
//	    current time, under a fresh notification id (-keep-id keeps the sample's). Probes and
//	    unsigned samples are printed unchanged: they are refused whatever the keys. -tamper
//	    changes the body after signing. The result is a file for `make invoke FN=paynotify`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "samples":
		fs := flag.NewFlagSet("samples", flag.ExitOnError)
		dir := fs.String("dir", "events/paynotify", "where to write the sample events")
		fs.Parse(os.Args[2:])
		err = writeSamples(*dir)
	case "sign":
		fs := flag.NewFlagSet("sign", flag.ExitOnError)
		var o signOptions
		fs.StringVar(&o.envFile, "env", devEnvFile(), "the running stack's settings (for WXFN_DEV_URL)")
		fs.StringVar(&o.stack, "stack", "", "the running stack's URL (overrides -env)")
		fs.StringVar(&o.order, "order", "", "fill a transaction from this out_trade_no (paid in the emulator)")
		fs.StringVar(&o.refund, "refund", "", "fill a refund notice from this out_refund_no (known to the emulator)")
		fs.BoolVar(&o.keepID, "keep-id", false, "keep the sample's notification id (a re-send of the same notification)")
		fs.BoolVar(&o.tamper, "tamper", false, "change the body after signing (paynotify must refuse it)")
		out := fs.String("o", "", "write the event here instead of standard output")
		fs.Parse(os.Args[2:])
		if fs.NArg() != 1 {
			usage()
		}
		err = signCommand(o, fs.Arg(0), *out)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wxfn-events:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: wxfn-events samples [-dir DIR]\n       wxfn-events sign [-env FILE | -stack URL] [-order NO] [-refund NO] [-keep-id] [-tamper] [-o FILE] SAMPLE.json")
	os.Exit(2)
}

// devEnvFile is where `make dev` writes its settings: under WXFN_DATA, as the Makefile and the
// stack agree, or .wxfn.
func devEnvFile() string {
	if d := os.Getenv("WXFN_DATA"); d != "" {
		return filepath.Join(d, "dev.env")
	}
	return filepath.Join(".wxfn", "dev.env")
}

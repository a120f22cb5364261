// Package functions lists every wxfn function. The deployment generator and the local gateway
// read this list; a function binary imports only its own package.
package functions

import (
	"github.com/wxfn/wxfn/functions/login"
	"github.com/wxfn/wxfn/functions/paynotify"
	"github.com/wxfn/wxfn/functions/payorder"
	"github.com/wxfn/wxfn/functions/reconcile"
	"github.com/wxfn/wxfn/functions/refund"
	"github.com/wxfn/wxfn/shared/deps"
	"github.com/wxfn/wxfn/shared/fn"
)

// Specs describes every function, in a stable order, for deployment.
func Specs() []fn.Spec {
	return []fn.Spec{login.Spec, payorder.Spec, paynotify.Spec, refund.Spec, reconcile.Spec}
}

// All builds every function over one set of dependencies, for the local gateway. Nothing
// connects until a function serves its first request.
func All(d *deps.Deps) []fn.Function {
	return []fn.Function{
		login.NewWithDeps(d),
		payorder.NewWithDeps(d),
		paynotify.NewWithDeps(d),
		refund.NewWithDeps(d),
		reconcile.NewWithDeps(d),
	}
}

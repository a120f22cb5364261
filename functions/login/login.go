// Package login is the mini-program login function: it exchanges a wx.login code for the user's
// openid and session_key, keeps the session_key server-side (encrypted at rest), and issues the
// session token every other function verifies.
package login

import (
	"github.com/wxfn/wxfn/shared/config"
	"github.com/wxfn/wxfn/shared/fn"
)

// New builds the login function over an environment.
func New(lookup config.Lookup) fn.Function {
	return fn.Function{Spec: Spec, HTTP: fn.NewRouter(nil)}
}

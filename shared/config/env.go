// Package config reads wxfn's settings from the environment (DESIGN §4). Every setting is an
// environment variable; a secret X may instead be given as X_FILE, the path of a file holding it.
// Each group of settings has its own loader so that a function only requires what it uses, and a
// loader reports every missing or malformed variable of its group by name in one error.
package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Lookup finds an environment variable; os.LookupEnv is the production one.
type Lookup func(name string) (string, bool)

// Map returns a Lookup over a fixed set of variables, for tests and the local stack.
func Map(vars map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// reader accumulates the problems of one group so that the error names all of them.
type reader struct {
	lookup Lookup
	errs   []error
}

func newReader(lookup Lookup) *reader {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return &reader{lookup: lookup}
}

func (r *reader) raw(name string) (string, bool) {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// optional returns the variable or def.
func (r *reader) optional(name, def string) string {
	if v, ok := r.raw(name); ok {
		return v
	}
	return def
}

// required returns the variable, recording an error naming it when it is missing.
func (r *reader) required(name string) string {
	v, ok := r.raw(name)
	if !ok {
		r.errs = append(r.errs, fmt.Errorf("missing setting %s", name))
	}
	return v
}

// secret reads name or the file named by name_FILE. A value given both ways is refused, since
// one of them would be silently ignored.
func (r *reader) secret(name string, required bool) string {
	v, direct := r.lookup(name)
	path, viaFile := r.raw(name + "_FILE")
	switch {
	case direct && v != "" && viaFile:
		r.errs = append(r.errs, fmt.Errorf("setting %s is given both directly and as %s_FILE", name, name))
		return ""
	case viaFile:
		b, err := os.ReadFile(path)
		if err != nil {
			// The path is not secret, the content is; the error names only the variable and path.
			r.errs = append(r.errs, fmt.Errorf("setting %s_FILE: %w", name, err))
			return ""
		}
		return strings.TrimSpace(string(b))
	case direct && strings.TrimSpace(v) != "":
		return strings.TrimSpace(v)
	}
	if required {
		r.errs = append(r.errs, fmt.Errorf("missing setting %s (or %s_FILE)", name, name))
	}
	return ""
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.errs = append(r.errs, fmt.Errorf("setting %s: %q is not a positive Go duration", name, v))
		return def
	}
	return d
}

func (r *reader) invalid(name, why string) {
	r.errs = append(r.errs, fmt.Errorf("setting %s: %s", name, why))
}

func (r *reader) err(group string) error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("config %s: %w", group, errors.Join(r.errs...))
}

package payorder

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wxfn/wxfn/shared/config"
)

// settings are payorder's own knobs, beyond the common and pay settings.
type settings struct {
	// maxTotal bounds an order's amount in fen (PAYORDER_MAX_TOTAL, default 1,000,000 = ¥10,000).
	maxTotal int64
	// maxItems bounds the number of distinct skus in an order (PAYORDER_MAX_ITEMS, default 20).
	maxItems int
	// expire is how long the user has to pay (PAYORDER_EXPIRE, default 30m; WeChat Pay's
	// time_expire, at least 1 minute).
	expire time.Duration
	// queryAfter is how old a CREATED order must be before GET asks WeChat Pay about it
	// (PAYORDER_QUERY_AFTER, default 10s): a notification normally arrives within seconds.
	queryAfter time.Duration
}

// loadSettings reads the settings; an error names every malformed variable.
func loadSettings(lookup config.Lookup) (settings, error) {
	s := settings{maxTotal: 1_000_000, maxItems: 20, expire: 30 * time.Minute, queryAfter: 10 * time.Second}
	var errs []error
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	if v, ok := get("PAYORDER_MAX_TOTAL"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("setting PAYORDER_MAX_TOTAL: %q is not a positive number of fen", v))
		} else {
			s.maxTotal = n
		}
	}
	if v, ok := get("PAYORDER_MAX_ITEMS"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 100 {
			errs = append(errs, fmt.Errorf("setting PAYORDER_MAX_ITEMS: %q is not a number from 1 to 100", v))
		} else {
			s.maxItems = n
		}
	}
	dur := func(name string, min, max time.Duration, dst *time.Duration) {
		v, ok := get(name)
		if !ok {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < min || d > max {
			errs = append(errs, fmt.Errorf("setting %s: %q is not a Go duration from %v to %v", name, v, min, max))
			return
		}
		*dst = d
	}
	dur("PAYORDER_EXPIRE", time.Minute, 7*24*time.Hour, &s.expire)
	dur("PAYORDER_QUERY_AFTER", 0, time.Hour, &s.queryAfter)
	if len(errs) > 0 {
		return s, fmt.Errorf("config payorder: %w", errors.Join(errs...))
	}
	return s, nil
}

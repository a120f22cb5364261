package bill

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// pow10[i] is 10^i.
var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000}

// parseAmount reads a decimal string ("12.34", "-0.30000", "3", "") as an integer count of
// 10^-scale units: scale 2 turns yuan into fen, scale 5 into thousandths of a fen. Digits past
// scale are accepted only when they are zeros, so nothing is ever rounded. An empty value is 0.
func parseAmount(v string, scale int) (int64, error) {
	if v == "" {
		return 0, nil
	}
	s := v
	neg := false
	if s[0] == '-' {
		neg, s = true, s[1:]
	}
	var n int64
	digits, frac := 0, -1 // frac counts digits after the point; -1 before it
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if frac >= 0 || digits == 0 {
				return 0, fmt.Errorf("%q is not a decimal amount", v)
			}
			frac = 0
			continue
		}
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal amount", v)
		}
		d := int64(c - '0')
		if frac >= scale {
			if d != 0 {
				return 0, fmt.Errorf("%q has more than %d decimals", v, scale)
			}
			continue
		}
		if n > (math.MaxInt64-d)/10 {
			return 0, fmt.Errorf("%q is too large", v)
		}
		n = n*10 + d
		if frac >= 0 {
			frac++
		} else {
			digits++
		}
	}
	if digits == 0 || frac == 0 {
		return 0, fmt.Errorf("%q is not a decimal amount", v)
	}
	if frac < 0 {
		frac = 0
	}
	m := pow10[scale-frac]
	if n > math.MaxInt64/m {
		return 0, errors.New(strconv.Quote(v) + " is too large")
	}
	n *= m
	if neg {
		n = -n
	}
	return n, nil
}

// formatAmount prints n units of 10^-scale with exactly scale decimals.
func formatAmount(n int64, scale int) string {
	return string(appendAmount(nil, n, scale))
}

func appendAmount(b []byte, n int64, scale int) []byte {
	u := uint64(n)
	if n < 0 {
		b = append(b, '-')
		u = uint64(-n) // MinInt64 negates to itself, which as uint64 is its magnitude
	}
	if scale == 0 {
		return strconv.AppendUint(b, u, 10)
	}
	m := uint64(pow10[scale])
	b = strconv.AppendUint(b, u/m, 10)
	b = append(b, '.')
	f := u % m
	for d := m / 10; d > 0; d /= 10 {
		b = append(b, byte('0'+f/d%10))
	}
	return b
}

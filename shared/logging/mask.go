package logging

// MaskPhone hides the middle of a phone number for logs (DESIGN §6): "13812345678" becomes
// "138****5678" and "+8613812345678" becomes "+86138****5678". At least four digits are always
// hidden: a number too short to keep its first three and last four digits keeps only the last
// four ("****5678"), and one shorter than eight characters becomes "****".
func MaskPhone(phone string) string {
	// An international prefix identifies no one; keep it readable.
	prefix, rest := "", phone
	switch {
	case len(rest) > 3 && rest[:3] == "+86":
		prefix, rest = "+86", rest[3:]
	case len(rest) > 4 && rest[:4] == "0086":
		prefix, rest = "0086", rest[4:]
	}
	switch n := len(rest); {
	case n >= 11:
		return prefix + rest[:3] + "****" + rest[n-4:]
	case n >= 8:
		return prefix + "****" + rest[n-4:]
	default:
		return prefix + "****"
	}
}

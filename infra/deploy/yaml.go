package deploy

import (
	"fmt"
	"strings"
)

// quote renders s as a YAML single-quoted scalar, the one form in which no character but the
// quote itself is special (it is doubled). Callers never pass line breaks (resolveOne refuses
// them in descriptions, and names are checked against narrow patterns).
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// doc accumulates YAML lines; the generators write their files top to bottom with it.
type doc struct{ b strings.Builder }

// line writes one line indented by depth levels of two spaces.
func (d *doc) line(depth int, format string, args ...any) {
	d.b.WriteString(strings.Repeat("  ", depth))
	fmt.Fprintf(&d.b, format, args...)
	d.b.WriteByte('\n')
}

// comment writes each line of text as a "# " comment at depth.
func (d *doc) comment(depth int, text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if l == "" {
			d.line(depth, "#")
			continue
		}
		d.line(depth, "# %s", l)
	}
}

func (d *doc) blank() { d.b.WriteByte('\n') }

func (d *doc) bytes() []byte { return []byte(d.b.String()) }

package views

import (
	"io"
	"strconv"
	"strings"
	"time"
)

// markup writes HTML straight to a page's buffer, for the few components
// written in Go instead of templ: those rendered many times on every page
// of the busiest routes (an invitation's row, a <time>), where templ's cost
// per component and per class list was most of the page (docs/performance.md).
// Every value goes through text, which escapes as templ does
// (html.EscapeString); raw is for the component's own literal markup only.
// The first write error is kept and every later write skipped.
type markup struct {
	w   io.Writer
	sw  io.StringWriter // w, when it writes strings without a copy
	err error
	num [64]byte // scratch for numbers and dates
}

func newMarkup(w io.Writer) *markup {
	m := &markup{w: w}
	m.sw, _ = w.(io.StringWriter)
	return m
}

// raw writes s as it is: literal markup of the component.
func (m *markup) raw(s string) {
	if m.err != nil || s == "" {
		return
	}
	if m.sw != nil {
		_, m.err = m.sw.WriteString(s)
		return
	}
	_, m.err = io.WriteString(m.w, s)
}

func (m *markup) bytes(b []byte) {
	if m.err == nil {
		_, m.err = m.w.Write(b)
	}
}

// text writes s escaped for an element's text or a quoted attribute value,
// with the same five entities as html.EscapeString.
func (m *markup) text(s string) {
	for s != "" {
		i := strings.IndexAny(s, `&'<>"`)
		if i < 0 {
			m.raw(s)
			return
		}
		m.raw(s[:i])
		m.raw(entities[s[i]])
		s = s[i+1:]
	}
}

var entities = [256]string{'&': "&amp;", '\'': "&#39;", '<': "&lt;", '>': "&gt;", '"': "&#34;"}

// int writes n in decimal.
func (m *markup) int(n int64) { m.bytes(strconv.AppendInt(m.num[:0], n, 10)) }

// date writes t in layout (UTC); layouts are ASCII without markup characters.
func (m *markup) date(t time.Time, layout string) { m.bytes(appendDate(m.num[:0], t, layout)) }

// appendDate appends t (UTC) in layout, as t.AppendFormat does, with the
// two layouts of every row (dateLayout, dateTimeLayout) written out by hand:
// the general formatter's parse of the layout was most of a <time>'s cost.
func appendDate(b []byte, t time.Time, layout string) []byte {
	t = t.UTC()
	if layout != dateLayout && layout != dateTimeLayout {
		return t.AppendFormat(b, layout)
	}
	y, mo, d := t.Date()
	if y < 1000 || y > 9999 {
		return t.AppendFormat(b, layout)
	}
	b = strconv.AppendInt(b, int64(d), 10)
	b = append(b, ' ')
	b = append(b, mo.String()[:3]...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(y), 10)
	if layout == dateTimeLayout {
		h, mi, _ := t.Clock()
		b = append(b, ", "...)
		b = append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10))
		b = append(b, " UTC"...)
	}
	return b
}

// Layouts of the dates pages show (Date, DateTime, ISO).
const (
	dateLayout     = "2 Jan 2006"
	dateTimeLayout = "2 Jan 2006, 15:04 UTC"
)

// time writes the <time> element of Time: relative to now with the date in
// its title, or the date alone when now is zero; nothing for a zero t.
func (m *markup) time(t, now time.Time) {
	if t.IsZero() {
		return
	}
	m.raw(`<time datetime="`)
	m.date(t, time.RFC3339)
	if now.IsZero() {
		m.raw(`">`)
		m.date(t, dateLayout)
		m.raw(`</time>`)
		return
	}
	m.raw(`" title="`)
	m.date(t, dateTimeLayout)
	m.raw(`">`)
	m.bytes(appendRelative(m.num[:0], t, now)) // words and digits: nothing to escape
	m.raw(`</time>`)
}

// timeAs writes t as a <time> element whose text is t in layout.
func (m *markup) timeAs(t time.Time, layout string) {
	if t.IsZero() {
		return
	}
	m.raw(`<time datetime="`)
	m.date(t, time.RFC3339)
	m.raw(`">`)
	m.date(t, layout)
	m.raw(`</time>`)
}

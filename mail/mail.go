// Package mail sends the site's emails: it writes them (Composer), delivers
// the outbox after each commit with retries (Deliverer), and sends through
// SMTP or, in development, by writing each email whole to the log.
package mail

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode"
)

// Message is one email, ready to send.
type Message struct {
	To      string // one address, as the user typed it
	Subject string
	Text    string // plain-text body
	HTML    string // HTML body (may be empty)
}

// Sender delivers one message. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// LogSender is the development mailer: it writes each email whole to the
// log, links and their tokens included, so a developer without an SMTP
// server can click them. It is the one place a token may reach a log.
type LogSender struct {
	Logger *slog.Logger
	From   string
	Out    io.Writer // optional: also print a readable copy here
}

// Send logs m.
func (s LogSender) Send(ctx context.Context, m Message) error {
	s.Logger.InfoContext(ctx, "email (development mailer: set BECKON_SMTP_URL to send for real)",
		"to", m.To, "subject", m.Subject, "body", m.Text)
	if s.Out != nil {
		if _, err := fmt.Fprintf(s.Out, "\n----- email -----\nFrom: %s\nTo: %s\nSubject: %s\n\n%s\n-----------------\n",
			printable(s.From, false), printable(m.To, false), printable(m.Subject, false), printable(m.Text, true)); err != nil {
			return fmt.Errorf("mail: print email: %w", err)
		}
	}
	return nil
}

// printable escapes what a terminal would act on rather than show: control
// characters (escape sequences start with one) and the invisible format
// characters that reorder or hide text (bidi overrides, zero-width ones),
// which names and notes may carry into an email. The body keeps its line
// breaks and tabs (multiline); a header line keeps neither.
func printable(s string, multiline bool) string {
	if plainASCII(s, multiline) {
		return s // the common case, and nothing to escape
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == unicode.ReplacementChar, unicode.IsControl(r), unicode.Is(unicode.Cf, r),
			r == '\u2028', r == '\u2029':
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// plainASCII reports whether s is printable ASCII only (with line breaks
// and tabs when multiline), which printable leaves as it is.
func plainASCII(s string, multiline bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f || multiline && (c == '\n' || c == '\t') {
			continue
		}
		return false
	}
	return true
}

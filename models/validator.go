package models

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Validator collects the messages of a form's fields, first message wins.
type Validator struct {
	Errors map[string]string
}

// Check records msg for field unless ok, or unless field already has one.
func (v *Validator) Check(ok bool, field, msg string) {
	if ok {
		return
	}
	if v.Errors == nil {
		v.Errors = map[string]string{}
	}
	if _, exists := v.Errors[field]; !exists {
		v.Errors[field] = msg
	}
}

// Valid reports whether no check failed.
func (v *Validator) Valid() bool { return len(v.Errors) == 0 }

// EmailKey is the form of an address used to compare it: trimmed, with
// ASCII A-Z lower-cased and nothing else changed. Unicode case mapping would
// fold look-alikes onto real addresses (U+212A KELVIN SIGN lower-cases to
// "k"), letting an account for one squat the other's address.
func EmailKey(email string) string { return asciiLower(strings.TrimSpace(email)) }

// asciiLower is s with A-Z lower-cased and every other byte kept.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// hiddenChar reports whether r is a character a reader cannot see or that
// changes how the text around it reads: controls (Cc), format characters
// (Cf, which holds the bidirectional overrides and isolates and the
// zero-width characters) and the Unicode line and paragraph separators.
func hiddenChar(r rune) bool {
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// PlainLine reports whether s holds no hidden character (see hiddenChar):
// one line of text, as a name is.
func PlainLine(s string) bool { return !strings.ContainsFunc(s, hiddenChar) }

// PlainText is PlainLine for multi-line text such as a note: it also allows
// tabs and line breaks (LF, or CR LF as a browser's textarea sends them).
func PlainText(s string) bool {
	for i, r := range s {
		switch {
		case r == '\t' || r == '\n':
		case r == '\r' && i+1 < len(s) && s[i+1] == '\n':
		case hiddenChar(r):
			return false
		}
	}
	return true
}

// ValidEmail reports whether s is one plain address (no display name) of at
// most 254 characters with a dotted domain.
func ValidEmail(s string) bool {
	if s == "" || len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>") || !PlainLine(s) {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// CheckEmail validates an email field with the site's two messages.
func CheckEmail(v *Validator, field, email string) {
	v.Check(email != "", field, "Enter an email address.")
	v.Check(ValidEmail(email), field, "Enter a valid email address.")
}

// NormalizeUsername trims a typed username and lower-cases its ASCII
// letters; like EmailKey it folds nothing else, so "\u212Aate" is refused
// rather than taken for "kate".
func NormalizeUsername(s string) string { return asciiLower(strings.TrimSpace(s)) }

// ValidUsername reports whether s is 3 to 30 of a-z, 0-9, _ and -.
func ValidUsername(s string) bool {
	if len(s) < 3 || len(s) > 30 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// CheckSignup applies the rules every way of creating an account shares:
// signup, setup, joining through a link, the API and the command line.
// email and username must already be trimmed (username lower-cased).
func CheckSignup(v *Validator, email, username, password string) {
	CheckEmail(v, "email", email)
	v.Check(username != "", "username", "Choose a username.")
	v.Check(ValidUsername(username), "username", "Use 3 to 30 lowercase letters, digits, _ or -.")
	CheckPassword(v, "password", password, email, username)
}

// CheckPassword applies the password rules: 8 to 128 characters, and not the
// email address or username.
func CheckPassword(v *Validator, field, password, email, username string) {
	n := utf8.RuneCountInString(password)
	v.Check(password != "", field, "Enter a password.")
	v.Check(n >= 8, field, "Use at least 8 characters.")
	v.Check(n <= 128, field, "Use at most 128 characters.")
	v.Check(!strings.EqualFold(password, email) && !strings.EqualFold(password, username), field,
		"Your password must differ from your email address and username.")
}

// CheckName validates an optional display name: at most 80 characters, on
// one line, without control, format or bidirectional-override characters,
// which would let a name pose as another in an email's subject.
func CheckName(v *Validator, field, name string) {
	v.Check(utf8.RuneCountInString(name) <= 80, field, "Use at most 80 characters.")
	v.Check(PlainLine(name), field, hiddenMessage)
}

// hiddenMessage is the message for text holding a hidden character.
const hiddenMessage = "Remove the invisible or control characters (such as direction marks or zero-width spaces)."

package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPSender sends through an SMTP server, from a URL of the form
// smtp://user:pass@host:587 or smtps://… (TLS from the first byte). Over
// smtp:// STARTTLS is required, since a server reached across a network
// could otherwise be made to talk in plaintext by anyone on the path and
// give away every link's token; a server on the machine itself (localhost,
// 127.0.0.1, ::1) uses STARTTLS when it offers it. The query parameter
// tls=none|opportunistic|mandatory overrides that.
type SMTPSender struct {
	host     string
	port     int
	user     string
	password string
	implicit bool
	policy   gomail.TLSPolicy
	from     string
}

// NewSMTPSender checks rawURL and from and returns a sender. Its errors never
// repeat the password.
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("mail: the SMTP URL does not parse; it should look like smtp://user:pass@host:587")
	}
	s := &SMTPSender{host: u.Hostname(), policy: gomail.TLSMandatory}
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.port, s.implicit = 465, true
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme %q: use smtp or smtps", u.Scheme)
	}
	if s.host == "" {
		return nil, errors.New("mail: the SMTP URL names no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP port %q is not a port number", p)
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	switch tlsMode := u.Query().Get("tls"); tlsMode {
	case "":
		if localHost(s.host) {
			s.policy = gomail.TLSOpportunistic
		}
	case "opportunistic":
		s.policy = gomail.TLSOpportunistic
	case "none":
		s.policy = gomail.NoTLS
	case "mandatory":
		s.policy = gomail.TLSMandatory
	default:
		return nil, fmt.Errorf("mail: SMTP tls=%q: use none, opportunistic or mandatory", tlsMode)
	}
	if _, err := netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail: sender address %q: %w", from, err)
	}
	s.from = from
	return s, nil
}

// localHost reports whether host names this machine, where nobody sits on
// the path between Beckon and the SMTP server.
func localHost(host string) bool {
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// TLS names the sender's TLS policy over smtp://: "mandatory",
// "opportunistic" or "none" ("implicit" for smtps://).
func (s *SMTPSender) TLS() string {
	switch {
	case s.implicit:
		return "implicit"
	case s.policy == gomail.TLSMandatory:
		return "mandatory"
	case s.policy == gomail.NoTLS:
		return "none"
	}
	return "opportunistic"
}

// RefusedError is a permanent refusal of the recipient by the SMTP server (a
// 5xx answer to RCPT TO): sending again cannot help, so the email bounced.
type RefusedError struct {
	Code int // the SMTP reply code, 500 to 599
	Err  error
}

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// refusal is err as a RefusedError when the server refused the recipient
// for good, and err itself otherwise (a 4xx answer, a network failure, a 5xx
// to anything but the recipient: all worth retrying or an operator's
// problem, not the address's).
func refusal(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) && se.Reason == gomail.ErrSMTPRcptTo && !se.IsTemp() &&
		se.ErrorCode() >= 500 && se.ErrorCode() <= 599 {
		return &RefusedError{Code: se.ErrorCode(), Err: err}
	}
	return err
}

// String describes the server without its password.
func (s *SMTPSender) String() string {
	scheme := "smtp"
	if s.implicit {
		scheme = "smtps"
	}
	if s.user != "" {
		return fmt.Sprintf("%s://%s@%s:%d", scheme, s.user, s.host, s.port)
	}
	return fmt.Sprintf("%s://%s:%d", scheme, s.host, s.port)
}

// Send delivers m over a fresh connection.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("mail: from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail: to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(15 * time.Second), gomail.WithTLSPolicy(s.policy)}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	}
	if s.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return fmt.Errorf("mail: smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return refusal(fmt.Errorf("mail: send to %s via %s: %w", m.To, s, err))
	}
	return nil
}

package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// config is the server's configuration: each value from its BECKON_
// environment variable, overridden by the flag of the same name.
type config struct {
	Addr              string
	DB                string
	BaseURL           string
	SiteName          string
	Signup            string
	InviteExpiry      time.Duration
	DefaultAllocation int
	SMTPURL           string
	MailFrom          string
	InviteRate        int
	RecipientRate     int
	TrustedProxies    []netip.Prefix
	JoinRate          int
	InviteMinAge      time.Duration
	// InviteReminder is how long before a pending invitation expires its
	// one reminder goes out (0: none).
	InviteReminder time.Duration
	EarnAfter      time.Duration
	EarnAmount     int
	// WebhookAllowPrivate lets webhooks use http and reach private and
	// loopback addresses (tests, intranets).
	WebhookAllowPrivate bool
	Links               string // who may make shareable links: members, staff or off
	Secret              string // keys shareable links; "" for the key file beside the SQLite database
}

// setting is one configuration value: its variable, flag and default.
type setting struct {
	env, flag, def, usage string
}

var settings = []setting{
	{"BECKON_ADDR", "addr", ":8080", "address to listen on"},
	{"BECKON_DB", "db", "./data/beckon.db", "SQLite database file (its folder is created), or postgres://user:password@host:5432/dbname?sslmode=... for PostgreSQL 15+"},
	{"BECKON_BASE_URL", "base-url", "http://localhost:8080", "public URL of the site, for links in emails; https makes cookies Secure"},
	{"BECKON_SITE_NAME", "site-name", "Beckon", "the site's name"},
	{"BECKON_SIGNUP", "signup", "invite-only", "who may sign up: invite-only or open"},
	{"BECKON_INVITE_EXPIRY", "invite-expiry", "168h", "how long an invitation link stays valid (a Go duration)"},
	{"BECKON_DEFAULT_INVITE_ALLOCATION", "default-invite-allocation", "0", "invitations a new member starts with; -1 for unlimited"},
	{"BECKON_SMTP_URL", "smtp-url", "", "smtp://user:pass@host:587 to send email; empty writes emails to the log"},
	{"BECKON_MAIL_FROM", "mail-from", "Beckon <no-reply@localhost>", "sender of the site's emails"},
	{"BECKON_INVITE_RATE", "invite-rate", "20", "invitations one member may send an hour; 0 for no limit"},
	{"BECKON_RECIPIENT_RATE", "recipient-rate", "3", "invitation emails one address may receive a day; 0 for no limit"},
	{"BECKON_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed; empty ignores the header"},
	{"BECKON_JOIN_RATE", "join-rate", "20", "sign-up attempts one client address may make in 15 minutes; 0 for no limit"},
	{"BECKON_INVITE_MIN_AGE", "invite-min-age", "0", "how long someone must have been a member before inviting (a Go duration; 0 for no wait; staff are exempt)"},
	{"BECKON_INVITE_REMINDER", "invite-reminder", "48h", "how long before a pending invitation expires its one reminder email goes out (a Go duration; 0 turns reminders off)"},
	{"BECKON_EARN_AFTER", "earn-after", "0", "how long an invitee must have been a member in good standing for their inviter to earn invitations (a Go duration; 0 turns it off)"},
	{"BECKON_EARN_AMOUNT", "earn-amount", "1", "invitations an inviter earns per invitee in good standing"},
	{"BECKON_WEBHOOK_ALLOW_PRIVATE", "webhook-allow-private", "false", "true lets webhook URLs be http and reach private or loopback addresses"},
	{"BECKON_LINKS", "links", "members", "who may make shareable links: members, staff or off"},
	{"BECKON_SECRET", "secret", "", "secret (at least 32 characters) keying shareable links; empty uses the key file beckon.key beside the SQLite database (required with PostgreSQL)"},
}

// parseConfig reads the environment through getenv, then the flags in args,
// and checks every value. A bad value is a usage error.
func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	raw := map[string]*string{}
	for _, s := range settings {
		def := s.def
		if v, ok := lookup(getenv, s.env); ok {
			def = v
		}
		raw[s.env] = fs.String(s.flag, def, s.usage+" ("+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return config{}, nil, usageError{err}
	}
	var c config
	var errs []string
	bad := func(env, msg string) { errs = append(errs, fmt.Sprintf("%s: %s", env, msg)) }
	get := func(env string) string { return strings.TrimSpace(*raw[env]) }

	c.Addr = get("BECKON_ADDR")
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		bad("BECKON_ADDR", fmt.Sprintf("%q is not host:port (for example :8080)", c.Addr))
	}
	c.DB = get("BECKON_DB")
	if c.DB == "" {
		bad("BECKON_DB", "must name a SQLite file or a postgres:// URL")
	}
	c.BaseURL = strings.TrimRight(get("BECKON_BASE_URL"), "/")
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("BECKON_BASE_URL", fmt.Sprintf("%q is not an http or https URL", c.BaseURL))
	}
	c.SiteName = get("BECKON_SITE_NAME")
	if c.SiteName == "" {
		bad("BECKON_SITE_NAME", "must not be empty")
	}
	c.Signup = get("BECKON_SIGNUP")
	if c.Signup != "invite-only" && c.Signup != "open" {
		bad("BECKON_SIGNUP", fmt.Sprintf("%q is neither invite-only nor open", c.Signup))
	}
	if d, err := time.ParseDuration(get("BECKON_INVITE_EXPIRY")); err != nil || d <= 0 {
		bad("BECKON_INVITE_EXPIRY", fmt.Sprintf("%q is not a positive Go duration (for example 168h)", get("BECKON_INVITE_EXPIRY")))
	} else {
		c.InviteExpiry = d
	}
	if n, err := strconv.Atoi(get("BECKON_DEFAULT_INVITE_ALLOCATION")); err != nil || n < -1 || n > 1_000_000 {
		bad("BECKON_DEFAULT_INVITE_ALLOCATION", "must be a whole number from 0 to 1000000, or -1 for unlimited")
	} else {
		c.DefaultAllocation = n
	}
	c.SMTPURL = get("BECKON_SMTP_URL")
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			bad("BECKON_SMTP_URL", "must look like smtp://user:pass@host:587") // never echo it: it holds a password
		}
	}
	c.MailFrom = get("BECKON_MAIL_FROM")
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		bad("BECKON_MAIL_FROM", fmt.Sprintf("%q is not an email address", c.MailFrom))
	}
	for _, r := range []struct {
		env string
		dst *int
	}{{"BECKON_INVITE_RATE", &c.InviteRate}, {"BECKON_RECIPIENT_RATE", &c.RecipientRate}, {"BECKON_JOIN_RATE", &c.JoinRate}} {
		n, err := strconv.Atoi(get(r.env))
		if err != nil || n < 0 {
			bad(r.env, "must be a whole number, 0 or more (0 turns the limit off)")
			continue
		}
		*r.dst = n
	}
	if ps, err := parseProxies(get("BECKON_TRUSTED_PROXIES")); err != nil {
		bad("BECKON_TRUSTED_PROXIES", err.Error())
	} else {
		c.TrustedProxies = ps
	}
	for _, d := range []struct {
		env string
		dst *time.Duration
	}{{"BECKON_INVITE_MIN_AGE", &c.InviteMinAge}, {"BECKON_INVITE_REMINDER", &c.InviteReminder}, {"BECKON_EARN_AFTER", &c.EarnAfter}} {
		v, err := time.ParseDuration(get(d.env))
		if err != nil || v < 0 {
			bad(d.env, fmt.Sprintf("%q is not a Go duration of 0 or more (for example 720h)", get(d.env)))
			continue
		}
		*d.dst = v
	}
	if n, err := strconv.Atoi(get("BECKON_EARN_AMOUNT")); err != nil || n < 1 || n > 1_000_000 {
		bad("BECKON_EARN_AMOUNT", "must be a whole number from 1 to 1000000")
	} else {
		c.EarnAmount = n
	}
	if b, err := strconv.ParseBool(get("BECKON_WEBHOOK_ALLOW_PRIVATE")); err != nil {
		bad("BECKON_WEBHOOK_ALLOW_PRIVATE", fmt.Sprintf("%q is neither true nor false", get("BECKON_WEBHOOK_ALLOW_PRIVATE")))
	} else {
		c.WebhookAllowPrivate = b
	}
	c.Links = get("BECKON_LINKS")
	if c.Links != "members" && c.Links != "staff" && c.Links != "off" {
		bad("BECKON_LINKS", fmt.Sprintf("%q is not members, staff or off", c.Links))
	}
	c.Secret = get("BECKON_SECRET")
	// Required with PostgreSQL, which linkSecret says when the database is
	// opened: commands that open none (backup) need no secret.
	if c.Secret != "" && len(c.Secret) < minSecretLength {
		bad("BECKON_SECRET", fmt.Sprintf("must be at least %d characters", minSecretLength)) // never echo it
	}
	if len(errs) > 0 {
		return config{}, nil, usageError{fmt.Errorf("bad configuration:\n  %s", strings.Join(errs, "\n  "))}
	}
	return c, fs.Args(), nil
}

// parseProxies reads a comma-separated list of CIDRs. A bare address is
// taken as the one-address network (/32 or /128).
func parseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			a, aerr := netip.ParseAddr(item)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not a CIDR (for example 10.0.0.0/8, 127.0.0.1/32 or fd00::/8)", item)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			// ::ffff:10.0.0.0/104 means 10.0.0.0/8: client addresses are compared unmapped.
			if p.Bits() < 96 {
				return nil, fmt.Errorf("%q is not a CIDR of IPv4-mapped addresses", item)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

// usageError is a mistake in the command line or configuration: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Settings is the site switches that staff set on /staff/settings: joining
// paused and the blocked domains (SPEC section 11).
type Settings struct{ *core }

// SiteSettings is the switches as they are.
type SiteSettings struct {
	JoiningPaused  bool
	BlockedDomains []string // sorted
}

// Audit actions of the site switches.
const (
	ActionJoiningPaused   = "joining_paused"
	ActionJoiningReopened = "joining_reopened"
	ActionBlockedDomains  = "blocked_domains" // amount: how many domains are blocked now
)

// Get returns the switches.
func (s *Settings) Get(ctx context.Context) (SiteSettings, error) {
	return getSettings(ctx, s.db)
}

func getSettings(ctx context.Context, q queryer) (SiteSettings, error) {
	var st SiteSettings
	if err := q.QueryRowContext(ctx, `SELECT joining_paused FROM site_settings WHERE id = 1`).Scan(&st.JoiningPaused); err != nil {
		return SiteSettings{}, fmt.Errorf("models: site settings: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT domain FROM blocked_domains ORDER BY domain`)
	if err != nil {
		return SiteSettings{}, fmt.Errorf("models: blocked domains: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return SiteSettings{}, fmt.Errorf("models: blocked domains: %w", err)
		}
		st.BlockedDomains = append(st.BlockedDomains, d)
	}
	if err := rows.Err(); err != nil {
		return SiteSettings{}, fmt.Errorf("models: blocked domains: %w", err)
	}
	return st, nil
}

// CheckJoiningOpen fails with ErrJoiningPaused while staff have paused
// joining; a join link asks it before showing its form.
func (s *Settings) CheckJoiningOpen(ctx context.Context) error {
	return checkJoiningOpen(ctx, s.db)
}

// checkJoiningOpen is CheckJoiningOpen through q; the join transaction asks
// it too, so a pause is never raced past.
func checkJoiningOpen(ctx context.Context, q queryer) error {
	var paused bool
	if err := q.QueryRowContext(ctx, `SELECT joining_paused FROM site_settings WHERE id = 1`).Scan(&paused); err != nil {
		return fmt.Errorf("models: joining paused: %w", err)
	}
	if paused {
		return ErrJoiningPaused
	}
	return nil
}

// Save sets the switches in one transaction, with one audit row for each
// switch that changed. domains must come from ParseDomains.
func (s *Settings) Save(ctx context.Context, actorID int64, st SiteSettings) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := s.now()
		old, err := getSettings(ctx, tx)
		if err != nil {
			return err
		}
		if old.JoiningPaused != st.JoiningPaused {
			if _, err := tx.ExecContext(ctx, `UPDATE site_settings SET joining_paused = ? WHERE id = 1`, st.JoiningPaused); err != nil {
				return fmt.Errorf("models: save joining paused: %w", err)
			}
			action := ActionJoiningReopened
			if st.JoiningPaused {
				action = ActionJoiningPaused
			}
			if err := audit(ctx, tx, now, actorID, action, sql.NullInt64{}, 0, false, 0); err != nil {
				return err
			}
		}
		if strings.Join(old.BlockedDomains, "\n") == strings.Join(st.BlockedDomains, "\n") {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM blocked_domains`); err != nil {
			return fmt.Errorf("models: save blocked domains: %w", err)
		}
		for _, d := range st.BlockedDomains {
			if _, err := tx.ExecContext(ctx, `INSERT INTO blocked_domains (domain, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, d, unix(now)); err != nil {
				return fmt.Errorf("models: save blocked domains: %w", err)
			}
		}
		n := sql.NullInt64{Int64: int64(len(st.BlockedDomains)), Valid: true}
		return audit(ctx, tx, now, actorID, ActionBlockedDomains, n, 0, false, 0)
	})
}

// MaxBlockedDomains bounds the blocked domains list.
const MaxBlockedDomains = 1000

// ParseDomains reads the blocked domains textarea: one domain a line, blank
// lines skipped, lower-cased, sorted and without repeats. A line that is not
// a domain gives ok false and a message that names it.
func ParseDomains(text string) (domains []string, msg string, ok bool) {
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		d := strings.ToLower(strings.TrimSpace(line))
		if d == "" {
			continue
		}
		if !ValidDomain(d) {
			return nil, fmt.Sprintf("Line %d is not a domain: %q. Write one domain a line, like example.com.", i+1, strings.TrimSpace(line)), false
		}
		if !seen[d] {
			seen[d] = true
			domains = append(domains, d)
		}
	}
	if len(domains) > MaxBlockedDomains {
		return nil, fmt.Sprintf("Block at most %d domains.", MaxBlockedDomains), false
	}
	slices.Sort(domains)
	return domains, "", true
}

// ValidDomain reports whether d (lower case) is a DNS name of at least two
// labels, each of letters, digits and inner hyphens: what follows the @ of
// an address that ValidEmail takes. A single label (a whole top-level
// domain) is refused as more likely a slip than a wish.
func ValidDomain(d string) bool {
	if len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// domainSuffixes is the domain of an email key and every domain it is
// under: "a.b.example.com" gives a.b.example.com, b.example.com,
// example.com and com.
func domainSuffixes(key string) []string {
	d := key[strings.LastIndexByte(key, '@')+1:]
	var out []string
	for d != "" {
		out = append(out, d)
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return out
}

// blockedDomainSQL is the query for the blocked domain the address key is
// at or under (the shortest, if several), with its parameters numbered from
// first; ok is false when key has no domain to look up.
func blockedDomainSQL(key string, first int) (query string, args []any, ok bool) {
	suffixes := domainSuffixes(key)
	if len(suffixes) == 0 {
		return "", nil, false
	}
	marks := make([]string, len(suffixes))
	for i, d := range suffixes {
		args = append(args, d)
		marks[i] = "?" + strconv.Itoa(first+i)
	}
	return `SELECT domain FROM blocked_domains WHERE domain IN (` + strings.Join(marks, ", ") + `)
		ORDER BY length(domain) LIMIT 1`, args, true
}

// blockedDomain returns the blocked domain an address is at or under, or "".
func blockedDomain(ctx context.Context, q queryer, key string) (string, error) {
	query, args, ok := blockedDomainSQL(key, 1)
	if !ok {
		return "", nil
	}
	var d string
	err := q.QueryRowContext(ctx, query, args...).Scan(&d)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("models: blocked domain: %w", err)
	}
	return d, nil
}

// CheckSignupDomain fails with ErrDomainBlocked (naming the domain) when email is at or
// under a blocked domain: open signups follow the same list as invitations.
func (s *Settings) CheckSignupDomain(ctx context.Context, email string) error {
	d, err := blockedDomain(ctx, s.db, EmailKey(email))
	if err != nil {
		return err
	}
	if d != "" {
		return ErrDomainBlocked.With(Facts{Domain: d})
	}
	return nil
}

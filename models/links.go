package models

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Links is the shareable links table group (SPEC 12): a link admits up to
// Uses sign-ups, each recorded as an accepted invitation of the link, and
// holds that many invitations of its creator's allocation while it is open.
//
// A link's token is derived, never stored: HMAC-SHA256 of the site secret
// (Options.LinkSecret, kept outside the database) over the link's id and a
// random nonce of its row, base64url. The row keeps only the token's
// SHA-256, for the look-up, and a look-up also derives the token again and
// compares, so that a database copied without the secret, or a secret
// changed since, opens no link.
type Links struct{ *core }

// Link statuses as stored and shown; an open link past its expiry reads
// expired at once, and the sweep makes it durable.
const (
	LinkOpen    = "open"
	LinkUsed    = "used" // every use taken
	LinkClosed  = "closed"
	LinkExpired = "expired"
)

// DeliveryLink is the delivery state of an invitation made by a join
// through a shareable link: no email was sent for it.
const DeliveryLink = "link"

// Limits of a link's fields.
const (
	MaxLinkUses   = 100
	MaxLinkHours  = 720
	linkNonceSize = 16
	linkListLimit = 100 // links on one page of GET /links
)

// Event kinds of links.
const (
	EventLinkCreated = "link_created"
	EventLinkClosed  = "link_closed"
)

// The refusals of links.
var (
	ErrLinkUsedUp   = declare(&Error{Code: "link_used_up", Kind: KindGone, Title: "Link used up", Message: "Everyone this link from {inviter} was meant for has joined already. Ask them for a new one."})
	ErrLinkClosed   = declare(&Error{Code: "link_closed", Kind: KindGone, Title: "Link closed", Message: "{inviter} closed this link. Ask them for a new one if you think this is a mistake."})
	ErrLinkExpired  = declare(&Error{Code: "shared_link_expired", Kind: KindGone, Title: "Link expired", Message: "This link expired on {date}. Ask {inviter} for a new one."})
	ErrLinkNotOpen  = declare(&Error{Code: "link_not_open", Kind: KindConflict, Title: "Not done", Message: "This link is no longer open."})
	ErrLinkNoneLeft = declare(&Error{Code: "no_invitations_left", Kind: KindInvalid, Field: "uses", Title: "Not created",
		Message: "You do not have that many invitations left: a link holds one for each use."})
	ErrNoLinkSecret = errors.New("models: no link secret configured")
)

// Link is one shareable link with what became of it.
type Link struct {
	ID              int64
	CreatorID       int64
	CreatorUsername string
	CreatorName     string
	Uses            int
	Used            int
	Label           string
	Status          string // effective: an open link past its expiry reads expired
	CreatedAt       time.Time
	ExpiresAt       time.Time
	EndedAt         time.Time
	// Token is the link's token, derived from the site secret, for its
	// creator's eyes; "" unless the link is open and the secret still the
	// one it was made with.
	Token  string
	Joined []UserRef // who joined through it, oldest first
	nonce  []byte
	hash   []byte
}

// UserRef names a member.
type UserRef struct {
	ID       int64
	Username string
}

// UsesLeft is how many more people can join through the link now.
func (l Link) UsesLeft() int {
	if l.Status != LinkOpen {
		return 0
	}
	return l.Uses - l.Used
}

// CreatorDisplay is the creator's name, or username when there is none.
func (l Link) CreatorDisplay() string {
	if l.CreatorName != "" {
		return l.CreatorName
	}
	return l.CreatorUsername
}

// CheckLink validates the link form's fields: uses 1 to MaxLinkUses, hours
// (0 for the default) 1 to MaxLinkHours, the label as an invitation's.
func CheckLink(v *Validator, uses, hours int, label string) {
	v.Check(uses >= 1 && uses <= MaxLinkUses, "uses", fmt.Sprintf("Give a whole number of uses from 1 to %d.", MaxLinkUses))
	v.Check(hours >= 0 && hours <= MaxLinkHours, "expires_in", fmt.Sprintf("Give a whole number of hours from 1 to %d.", MaxLinkHours))
	CheckLabel(v, label)
}

// deriveLinkToken is the token of link id with nonce under secret.
func deriveLinkToken(secret []byte, id int64, nonce []byte) string {
	mac := hmac.New(sha256.New, secret)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	mac.Write(b[:])
	mac.Write(nonce)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// withToken fills in l.Token when l is open and its stored hash is that of
// the token the current secret derives.
func (c *core) withToken(l Link) Link {
	if l.Status != LinkOpen || len(c.opts.LinkSecret) == 0 {
		return l
	}
	token := deriveLinkToken(c.opts.LinkSecret, l.ID, l.nonce)
	if subtle.ConstantTimeCompare(HashToken(token), l.hash) == 1 {
		l.Token = token
	}
	return l
}

// linkSelect reads a Link; its one parameter is the current time.
const linkSelect = `SELECT l.id, l.creator_id, u.username, u.name, l.uses, l.used, l.label,
	CASE WHEN l.status = 'open' AND l.expires_at <= ?1 THEN 'expired' ELSE l.status END,
	l.created_at, l.expires_at, l.ended_at, l.nonce, l.token_hash
	FROM links l JOIN users u ON u.id = l.creator_id`

// scanLink reads a linkSelect row into l.
func scanLink(row scanner, l *Link) error {
	var created, expires int64
	var ended sql.NullInt64
	err := row.Scan(&l.ID, &l.CreatorID, &l.CreatorUsername, &l.CreatorName, &l.Uses, &l.Used, &l.Label,
		&l.Status, &created, &expires, &ended, &l.nonce, &l.hash)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoRecord
	}
	if err != nil {
		return fmt.Errorf("models: scan link: %w", err)
	}
	l.CreatedAt = time.Unix(created, 0).UTC()
	l.ExpiresAt = time.Unix(expires, 0).UTC()
	l.EndedAt = fromUnix(ended)
	return nil
}

// Create makes a link of creator's with uses and label, expiring after
// expiresIn (0: the configured invitation expiry), and holds uses
// invitations of their allocation in one conditional UPDATE, as that many
// pending invitations would. It returns the link (with its token) and the
// allocation after the change.
func (m *Links) Create(ctx context.Context, creator User, uses int, expiresIn time.Duration, label string) (Link, Allocation, error) {
	label = strings.TrimSpace(label)
	if len(m.opts.LinkSecret) == 0 {
		return Link{}, Allocation{}, ErrNoLinkSecret
	}
	if !creator.Verified() {
		return Link{}, Allocation{}, ErrNotVerified
	}
	if expiresIn <= 0 {
		expiresIn = m.opts.InviteExpiry
	}
	nonce := make([]byte, linkNonceSize)
	rand.Read(nonce) // never fails: crypto/rand panics rather than return an error
	var l Link
	var alloc Allocation
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		err := tx.QueryRowContext(ctx, `UPDATE allocations SET held = held + ?1
			WHERE user_id = ?2 AND (unlimited = TRUE OR held + ?1 <= allocated)
			RETURNING `+allocationColumns, uses, creator.ID).Scan(&alloc.Allocated, &alloc.Unlimited, &alloc.Held, &alloc.Accepted)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrLinkNoneLeft
		}
		if err != nil {
			return fmt.Errorf("models: hold link invitations: %w", err)
		}
		id, err := insertID(ctx, tx, m.engine, `INSERT INTO links (creator_id, nonce, uses, label, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, creator.ID, nonce, uses, label, unix(now), unix(now.Add(expiresIn)))
		if err != nil {
			return fmt.Errorf("models: insert link: %w", err)
		}
		// The id is part of the token, so the hash is set once the row has one.
		hash := HashToken(deriveLinkToken(m.opts.LinkSecret, id, nonce))
		if _, err := tx.ExecContext(ctx, `UPDATE links SET token_hash = ? WHERE id = ?`, hash, id); err != nil {
			return fmt.Errorf("models: set link token: %w", err)
		}
		if l, err = getLink(ctx, tx, now, id); err != nil {
			return err
		}
		return record(ctx, tx, ch, Event{Kind: EventLinkCreated, UserID: creator.ID, At: now, Data: linkEventData(l, 0)})
	})
	if err != nil {
		return Link{}, Allocation{}, err
	}
	return m.withToken(l), alloc, nil
}

func linkEventData(l Link, givenBack int) map[string]any {
	return map[string]any{"link_id": l.ID, "creator_id": l.CreatorID, "uses": l.Uses, "used": l.Used,
		"status": l.Status, "given_back": givenBack}
}

func getLink(ctx context.Context, q queryer, now time.Time, id int64) (Link, error) {
	return one(q.QueryRowContext(ctx, linkSelect+` WHERE l.id = ?2`, unix(now), id), scanLink)
}

// Get returns the link with id if creatorID made it, and ErrNoRecord
// otherwise, with its token and who joined through it.
func (m *Links) Get(ctx context.Context, creatorID, id int64) (Link, error) {
	l, err := getLink(ctx, m.db, m.now(), id)
	if err != nil {
		return Link{}, err
	}
	if l.CreatorID != creatorID {
		return Link{}, ErrNoRecord
	}
	ls, err := m.withJoined(ctx, []Link{l})
	if err != nil {
		return Link{}, err
	}
	return m.withToken(ls[0]), nil
}

// List returns creatorID's latest links, newest first, each with its token
// (when open) and who joined through it.
func (m *Links) List(ctx context.Context, creatorID int64) ([]Link, error) {
	out, err := queryAll(ctx, m.db, linkListLimit, scanLink, linkSelect+` WHERE l.creator_id = ?2 ORDER BY l.id DESC LIMIT ?3`,
		unix(m.now()), creatorID, linkListLimit)
	if err != nil {
		return nil, fmt.Errorf("models: list links: %w", err)
	}
	for i := range out {
		out[i] = m.withToken(out[i])
	}
	return m.withJoined(ctx, out)
}

// withJoined fills in who joined through each of ls, in one query.
func (m *Links) withJoined(ctx context.Context, ls []Link) ([]Link, error) {
	if len(ls) == 0 {
		return ls, nil
	}
	at := map[int64]int{}
	ids := make([]string, 0, len(ls))
	args := make([]any, 0, len(ls))
	for i, l := range ls {
		at[l.ID] = i
		ids = append(ids, "?")
		args = append(args, l.ID)
	}
	rows, err := m.db.QueryContext(ctx, `SELECT i.link_id, u.id, u.username FROM invitations i
		JOIN users u ON u.id = i.invitee_id
		WHERE i.link_id IN (`+strings.Join(ids, ", ")+`) ORDER BY i.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("models: link joins: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var linkID int64
		var u UserRef
		if err := rows.Scan(&linkID, &u.ID, &u.Username); err != nil {
			return nil, fmt.Errorf("models: link joins: %w", err)
		}
		i := at[linkID]
		ls[i].Joined = append(ls[i].Joined, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: link joins: %w", err)
	}
	return ls, nil
}

// LookupToken returns the link a token belongs to, changing nothing. When
// the link cannot be used it returns the link too (for the page that says
// why) with ErrLinkUsedUp, ErrLinkClosed or ErrLinkExpired; a token that is
// not a live link's under the current secret gives ErrTokenUnknown.
func (m *Links) LookupToken(ctx context.Context, token string) (Link, error) {
	return lookupLinkToken(ctx, m.db, m.core, m.now(), token)
}

func lookupLinkToken(ctx context.Context, q queryer, c *core, now time.Time, token string) (Link, error) {
	if !plausibleToken(token) || len(c.opts.LinkSecret) == 0 {
		return Link{}, ErrTokenUnknown
	}
	l, err := one(q.QueryRowContext(ctx, linkSelect+` WHERE l.token_hash = ?2`, unix(now), HashToken(token)), scanLink)
	if errors.Is(err, ErrNoRecord) {
		return Link{}, ErrTokenUnknown
	}
	if err != nil {
		return Link{}, err
	}
	// The hash matched; the token must also be the one this secret derives.
	want := deriveLinkToken(c.opts.LinkSecret, l.ID, l.nonce)
	if subtle.ConstantTimeCompare([]byte(want), []byte(token)) != 1 {
		return Link{}, ErrTokenUnknown
	}
	switch l.Status {
	case LinkOpen:
		return l, nil
	case LinkUsed:
		return l, ErrLinkUsedUp
	case LinkClosed:
		return l, ErrLinkClosed
	default:
		return l, ErrLinkExpired
	}
}

// Join creates the account of someone who followed a shareable link and
// records it as an accepted invitation of the link, in one transaction:
// one use is taken by a conditional UPDATE, so no more people join than the
// link has uses, however many try at once. The visitor typed their own
// address, so it is not verified: a confirmation email is queued. An
// address or username already taken is refused before the link is touched,
// and uses nothing.
func (m *Links) Join(ctx context.Context, token string, nu NewUser) (User, Link, error) {
	l, err := m.LookupToken(ctx, token)
	if err != nil {
		return User{}, l, err
	}
	if err := m.prepareUser(ctx, &nu); err != nil {
		return User{}, l, err
	}
	var u User
	err = m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		var err error
		if l, err = lookupLinkToken(ctx, tx, m.core, now, token); err != nil {
			return err
		}
		if err := checkJoiningOpen(ctx, tx); err != nil {
			return err
		}
		nu.Verified, nu.Staff, nu.Superuser = false, false, false
		if u, err = insertUser(ctx, tx, m.core, ch, nu, l.CreatorID, 0); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE links SET used = used + 1,
			status = CASE WHEN used + 1 >= uses THEN 'used' ELSE status END,
			ended_at = CASE WHEN used + 1 >= uses THEN ?1 ELSE ended_at END
			WHERE id = ?2 AND status = 'open' AND used < uses AND expires_at > ?1`, unix(now), l.ID)
		if err != nil {
			return fmt.Errorf("models: take link use: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLinkUsedUp
		}
		// The held invitation becomes an accepted one of the link's.
		var id int64
		email := strings.TrimSpace(nu.Email)
		if id, err = insertID(ctx, tx, m.engine, `INSERT INTO invitations (inviter_id, email, email_key, note, label, link_id, status,
			created_at, sent_at, expires_at, accepted_at, ended_at, invitee_id)
			VALUES (?1, ?2, ?3, '', ?4, ?5, 'accepted', ?6, ?6, ?7, ?6, ?6, ?8)`,
			l.CreatorID, email, EmailKey(email), l.Label, l.ID, unix(now), unix(l.ExpiresAt), u.ID); err != nil {
			return fmt.Errorf("models: insert link invitation: %w", err)
		}
		if _, err := tx.ExecContext(ctx, countAcceptedSQL, l.CreatorID); err != nil {
			return fmt.Errorf("models: count link acceptance: %w", err)
		}
		inv, err := getInvitation(ctx, tx, now, id)
		if err != nil {
			return err
		}
		if l, err = getLink(ctx, tx, now, l.ID); err != nil {
			return err
		}
		// The creator hears of the join, as for any invitation (SPEC 13).
		if err := notifyInviterOfJoin(ctx, tx, ch, m.core, now, inv, u); err != nil {
			return err
		}
		return record(ctx, tx, ch, Event{Kind: EventInviteAccepted, UserID: u.ID, At: now, Invitation: &inv,
			Data: map[string]any{"link_id": l.ID}})
	})
	if err != nil {
		return User{}, l, err
	}
	return u, l, nil
}

// Close ends creatorID's open link id and gives back its unused
// invitations. It returns the link as it is now and the creator's
// allocation after the change.
func (m *Links) Close(ctx context.Context, creatorID, id int64) (Link, Allocation, error) {
	var l Link
	var alloc Allocation
	err := m.write(ctx, func(ctx context.Context, tx *sql.Tx, ch *change) error {
		now := m.now()
		cur, err := getLink(ctx, tx, now, id)
		if err != nil {
			return err
		}
		if cur.CreatorID != creatorID {
			return ErrNoRecord
		}
		if cur.Status != LinkOpen {
			return ErrLinkNotOpen
		}
		if _, err := endLinks(ctx, tx, ch, now, LinkClosed, creatorID, "id = ? AND status = 'open'", id); err != nil {
			return err
		}
		if l, err = getLink(ctx, tx, now, id); err != nil {
			return err
		}
		alloc, err = allocation(ctx, tx, creatorID)
		return err
	})
	if err != nil {
		return Link{}, Allocation{}, err
	}
	ls, err := m.withJoined(ctx, []Link{l})
	if err != nil {
		return Link{}, Allocation{}, err
	}
	return ls[0], alloc, nil
}

// closeLinksOf closes every open link of userID, giving back their unused
// invitations, inside the caller's transaction: what suspending a member
// does to their links (SPEC 11). actorID is recorded on the link_closed
// events (0 for the system). It returns how many links it closed.
func closeLinksOf(ctx context.Context, tx *sql.Tx, ch *change, now time.Time, userID, actorID int64) (int, error) {
	return endLinks(ctx, tx, ch, now, LinkClosed, actorID, "status = 'open' AND creator_id = ?", userID)
}

// endLinks moves the open links matching where (over the links table,
// unaliased; it must require status = 'open') to status (LinkClosed or
// LinkExpired), gives back their unused invitations in one set-based UPDATE
// of the creators' allocations, and records link_closed for each.
func endLinks(ctx context.Context, tx *sql.Tx, ch *change, now time.Time, status string, actorID int64, where string, args ...any) (int, error) {
	var found bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM links WHERE `+where+`)`, args...).Scan(&found); err != nil {
		return 0, fmt.Errorf("models: find links to end: %w", err)
	}
	if !found {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE allocations SET held = held - d.n
		FROM (SELECT creator_id, sum(uses - used) AS n FROM links WHERE `+where+` GROUP BY creator_id) AS d
		WHERE allocations.user_id = d.creator_id`, args...); err != nil {
		return 0, fmt.Errorf("models: give link invitations back: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `UPDATE links SET status = ?, ended_at = ? WHERE `+where+` RETURNING id, uses - used`,
		append([]any{status, unix(now)}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("models: end links: %w", err)
	}
	type ended struct {
		id int64
		n  int
	}
	var done []ended
	for rows.Next() {
		var e ended
		if err := rows.Scan(&e.id, &e.n); err != nil {
			rows.Close()
			return 0, fmt.Errorf("models: end links: %w", err)
		}
		done = append(done, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("models: end links: %w", err)
	}
	for _, e := range done {
		l, err := getLink(ctx, tx, now, e.id)
		if err != nil {
			return 0, err
		}
		if err := record(ctx, tx, ch, Event{Kind: EventLinkClosed, UserID: actorID, At: now, Data: linkEventData(l, e.n)}); err != nil {
			return 0, err
		}
	}
	return len(done), nil
}

// DefaultExpiry is how long a link made without an expiry stays open: the
// configured invitation expiry.
func (m *Links) DefaultExpiry() time.Duration { return m.opts.InviteExpiry }

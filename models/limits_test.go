package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
)

// Email keys lower-case ASCII letters only: U+212A KELVIN SIGN is not "k".
// SQLite's lower(), which migration 0011 recomputes the stored keys with,
// must agree.
func TestEmailKeyIsASCIIOnly(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ in, want string }{
		{"  Kate@Corp.TEST ", "kate@corp.test"},
		{"\u212Aate@corp.test", "\u212Aate@corp.test"},
		{"\u0130nci@corp.test", "\u0130nci@corp.test"},
		{"ÜNAL@x.de", "Ünal@x.de"},
		{"plain@x.test", "plain@x.test"},
	} {
		if got := models.EmailKey(c.in); got != c.want {
			t.Errorf("EmailKey(%q) = %q; want %q", c.in, got, c.want)
		}
		var sqlKey string
		if err := e.db.QueryRow(`SELECT `+models.EngineOf(e.db).LowerASCII("trim(?)"), c.in).Scan(&sqlKey); err != nil || sqlKey != c.want {
			t.Errorf("SQLite lower(%q) = %q (%v); want %q", c.in, sqlKey, err, c.want)
		}
	}
}

// Usernames fold ASCII letters only: a Kelvin sign is refused, not "k".
func TestNormalizeUsernameIsASCIIOnly(t *testing.T) {
	if got := models.NormalizeUsername(" Kate_1 "); got != "kate_1" {
		t.Errorf("NormalizeUsername = %q; want kate_1", got)
	}
	if got := models.NormalizeUsername("\u212Aate"); models.ValidUsername(got) {
		t.Errorf("NormalizeUsername(Kelvin sign + ate) = %q, a valid username", got)
	}
}

// An address holding control or format characters is not valid; other
// Unicode letters still are.
func TestValidEmailRefusesHiddenCharacters(t *testing.T) {
	for _, s := range []string{"ka\u200Bte@corp.test", "kate@corp\u202E.test", "ka\x07te@corp.test", "kate\u2066@corp.test", "\uFEFFkate@corp.test"} {
		if models.ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = true; want false", s)
		}
	}
	for _, s := range []string{"kate@corp.test", "\u212Aate@corp.test", "jürgen@example.de"} {
		if !models.ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = false; want true", s)
		}
	}
}

// Names refuse every hidden character; notes allow tabs and line breaks.
func TestNamesAndNotesRefuseHiddenCharacters(t *testing.T) {
	for _, c := range []struct {
		text       string
		name, note bool
	}{
		{"Ann Lee", true, true},
		{"Zoë 李", true, true},
		{"Beckon\u202E ytiruceS", false, false},
		{"ann\u200Blee", false, false},
		{"a\x1b[31m", false, false},
		{"line one\nline two", false, true},
		{"line one\r\nline two\twith a tab", false, true},
		{"lone\rreturn", false, false},
		{"sep\u2028arator", false, false},
	} {
		var v models.Validator
		models.CheckName(&v, "name", c.text)
		if v.Valid() != c.name {
			t.Errorf("name %q valid %v; want %v", c.text, v.Valid(), c.name)
		}
		v = models.Validator{}
		models.CheckInvitation(&v, "friend@example.com", c.text)
		if v.Valid() != c.note {
			t.Errorf("note %q valid %v (%v); want %v", c.text, v.Valid(), v.Errors, c.note)
		}
		v = models.Validator{}
		models.CheckTokenName(&v, "name", c.text)
		if v.Valid() != c.name {
			t.Errorf("token name %q valid %v; want %v", c.text, v.Valid(), c.name)
		}
	}
}

// Refusals as already a member or already invited are recorded and count
// with sent invitations: once the hour's budget is spent, every address,
// registered or not, gets the same 429.
func TestRefusalsCountTowardsInviterRate(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.DefaultAllocation = 0; o.InviteRate = 20; o.RecipientRate = 0 })
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	e.user("bob@example.com", "bob", true)
	for i := range 20 {
		if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "bob@example.com", "", 0); !errors.Is(err, models.ErrAlreadyMember) {
			t.Fatalf("attempt %d: %v; want already a member", i+1, err)
		}
		e.clock.Advance(time.Minute)
	}
	var rl *models.RateLimitError
	for _, to := range []string{"bob@example.com", "nobody@example.com"} {
		if _, _, err := e.store.Invitations.Create(ctx, ann.ID, to, "", 0); !errors.As(err, &rl) {
			t.Fatalf("21st attempt to %s: %v; want rate limited", to, err)
		}
	}
	// The first refusal leaves the hour 40 minutes from now.
	if rl.RetryAfter < 40*60 || rl.RetryAfter > 40*60+1 {
		t.Errorf("Retry-After %d s; want about 2400", rl.RetryAfter)
	}
	e.clock.Advance(40*time.Minute + time.Second)
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "nobody@example.com", "", 0); !errors.Is(err, models.ErrNoInvitesLeft) {
		t.Fatalf("after the first left the hour: %v; want no invitations left", err)
	}
	// Old refusals are pruned as new ones come.
	e.clock.Advance(2 * time.Hour)
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "bob@example.com", "", 0); !errors.Is(err, models.ErrAlreadyMember) {
		t.Fatal(err)
	}
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM invite_refusals`).Scan(&n); err != nil || n != 1 {
		t.Errorf("refusals kept: %d (%v); want 1", n, err)
	}
}

// An "already invited" refusal counts too, and with the limit off nothing
// is recorded.
func TestAlreadyInvitedRefusalCounts(t *testing.T) {
	e := newEnv(t, func(o *models.Options) { o.DefaultAllocation = -1; o.InviteRate = 3; o.RecipientRate = 0 })
	ctx := context.Background()
	ann := e.user("ann@example.com", "ann", true)
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "c@example.com", "", 0); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "C@example.com", "", 0); !errors.Is(err, models.ErrAlreadyInvited) {
			t.Fatalf("repeat %d: %v", i, err)
		}
	}
	var rl *models.RateLimitError
	if _, _, err := e.store.Invitations.Create(ctx, ann.ID, "d@example.com", "", 0); !errors.As(err, &rl) {
		t.Fatalf("fourth attempt: %v; want rate limited", err)
	}

	off := newEnv(t, func(o *models.Options) { o.DefaultAllocation = -1; o.InviteRate = 0 })
	zed := off.user("zed@example.com", "zed", true)
	off.user("bob@example.com", "bob", true)
	if _, _, err := off.store.Invitations.Create(ctx, zed.ID, "bob@example.com", "", 0); !errors.Is(err, models.ErrAlreadyMember) {
		t.Fatal(err)
	}
	var n int
	if err := off.db.QueryRow(`SELECT count(*) FROM invite_refusals`).Scan(&n); err != nil || n != 0 {
		t.Errorf("refusals kept with the limit off: %d (%v); want 0", n, err)
	}
}

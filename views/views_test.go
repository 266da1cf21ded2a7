package views_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func has(t *testing.T, what, html string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(html, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, html)
		}
	}
}

func hasNot(t *testing.T, what, html string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(html, w) {
			t.Errorf("%s has %q:\n%s", what, w, html)
		}
	}
}

func TestRemainingNeverShowsMinusOne(t *testing.T) {
	for _, tc := range []struct {
		a    models.Allocation
		want string
	}{
		{models.Allocation{Allocated: 5, Held: 2}, "3"},
		{models.Allocation{Allocated: 2, Held: 4}, "0"}, // staff lowered it below what is held
		{models.Allocation{Unlimited: true, Held: 40}, "Unlimited"},
	} {
		if got := views.RemainingText(tc.a); got != tc.want {
			t.Errorf("RemainingText(%+v) = %q; want %q", tc.a, got, tc.want)
		}
	}
}

func TestInviteFormBlockStates(t *testing.T) {
	verified := models.User{ID: 1, Email: "ann@example.com", VerifiedAt: time.Now(), Allocation: models.Allocation{Allocated: 1}}
	html := render(t, views.InviteFormBlock(verified, views.InviteForm{Email: "x", Errors: views.FieldErrors{"email": "Enter a valid email address."}}))
	has(t, "form with an error", html, `<form id="invite-form"`, `hx-post="/invitations"`, `data-testid="email-error"`, "Enter a valid email address.", `aria-invalid="true"`, `aria-describedby="email-error"`)

	none := verified
	none.Allocation.Held = 1
	html = render(t, views.InviteFormBlock(none, views.InviteForm{}))
	has(t, "none left", html, `id="invite-form"`, "You have no invitations left.")
	hasNot(t, "none left", html, "<form")

	unverified := models.User{ID: 1, Email: "una@example.com", Allocation: models.Allocation{Allocated: 3}}
	html = render(t, views.InviteFormBlock(unverified, views.InviteForm{}))
	has(t, "unverified", html, `id="invite-form"`, "Confirm your email address", "una@example.com", `action="/settings/confirm-email"`)
}

func TestInvitationRow(t *testing.T) {
	day := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	pending := models.Invitation{ID: 7, Email: "bob@example.com", Note: "<b>hi</b>", Status: models.StatusPending,
		Delivery: models.DeliveryFailed, SentAt: day, ExpiresAt: day.AddDate(0, 0, 7)}
	html := render(t, views.InvitationRow(pending, time.Time{}))
	has(t, "pending row", html, `id="invitation-7"`, `data-status="pending"`, "expires <time datetime=\"2026-11-09T09:00:00Z\">9 Nov 2026</time>", "email failed",
		`hx-post="/invitations/7/resend"`, `hx-post="/invitations/7/revoke"`, "&lt;b&gt;hi&lt;/b&gt;")

	accepted := models.Invitation{ID: 8, Email: "cid@example.com", Status: models.StatusAccepted, Delivery: models.DeliverySent,
		SentAt: day, AcceptedAt: day.AddDate(0, 0, 1), InviteeUsername: "cid"}
	html = render(t, views.InvitationRow(accepted, time.Time{}))
	has(t, "accepted row", html, "accepted <time datetime=\"2026-11-03T09:00:00Z\">3 Nov 2026</time>", `href="/u/cid"`, "Joined as")
	hasNot(t, "accepted row", html, "/resend", "/revoke")

	html = render(t, views.StatusBadge(models.StatusJoinedIndependently))
	has(t, "badge", html, "joined independently", `class="badge badge-sky"`)
}

func TestCreatedFragmentSwapsCountersAndRowOutOfBand(t *testing.T) {
	u := models.User{ID: 1, VerifiedAt: time.Now(), Allocation: models.Allocation{Allocated: 3, Held: 1}}
	inv := models.Invitation{ID: 9, Email: "bob@example.com", Status: models.StatusPending}
	html := render(t, views.InviteCreated(u, inv, time.Time{}))
	has(t, "fragment", html, `<form id="invite-form"`,
		`<span id="invites-remaining" data-testid="invites-remaining" hx-swap-oob="true">2</span>`,
		`<span id="nav-invites-remaining" data-testid="nav-invites-remaining" hx-swap-oob="true">2</span>`,
		`<div hx-swap-oob="afterbegin:#sent-items"><li id="invitation-9"`,
		`<p id="sent-empty" hx-swap-oob="delete">`)
	hasNot(t, "fragment", html, "<html", `value="bob@example.com"`)
}

// htmx's configuration lives in app.js (loaded after htmx on every page);
// TestBrowserInviteAndJoin checks it took effect.
func TestBaseIsAWholeDocumentWithHtmxAndAppJS(t *testing.T) {
	html := render(t, views.LandingPage(views.Layout{SiteName: "Beckon"}))
	has(t, "page", html, "<!doctype html>", `<html lang="en"`, `src="/static/js/htmx.min.js"`, `src="/static/js/app.js"`, `hx-boost="true"`)
	hasNot(t, "page", html, "<script>", "style=", "htmx-config")
}

func TestNavMarksTheCurrentPage(t *testing.T) {
	l := views.Layout{SiteName: "Beckon", Path: "/invitations",
		User: models.User{ID: 1, Username: "ann", VerifiedAt: time.Now(), Allocation: models.Allocation{Allocated: 2}}}
	html := render(t, views.Nav(l))
	has(t, "nav", html, `href="/invitations" class="nav-link font-semibold text-brand-700" aria-current="page"`,
		`data-testid="nav-invites-remaining">2</span>`)
	if strings.Count(html, `aria-current="page"`) != 1 {
		t.Errorf("not exactly one current page:\n%s", html)
	}
}

// A refused field says so to assistive technology, and names its message;
// an accepted one carries neither attribute.
func TestRefusedFieldsAreMarkedInvalid(t *testing.T) {
	html := render(t, views.SignupFields(views.SignupForm{Email: "ann@", Errors: views.FieldErrors{"email": "Enter a valid email address."}}))
	has(t, "signup with a refused email", html,
		`aria-describedby="email-error" aria-invalid="true"`, `id="email-error"`)
	if n := strings.Count(html, "aria-invalid"); n != 1 {
		t.Errorf("%d fields marked invalid; want only the email:\n%s", n, html)
	}
	hasNot(t, "signup without errors", render(t, views.SignupFields(views.SignupForm{Email: "ann@example.com"})), "aria-invalid", "aria-describedby")
}

func TestNumberRelativeAndTime(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 48210: "48,210", 1000000: "1,000,000", -1234: "-1,234"} {
		if got := views.Number(n); got != want {
			t.Errorf("Number(%d) = %q; want %q", n, got, want)
		}
	}
	if got := views.Plural(48210, "member", "members"); got != "48,210 members" {
		t.Errorf("Plural = %q", got)
	}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second: "just now", -3 * time.Hour: "3 hours ago", 168 * time.Hour: "in 7 days",
		-24 * time.Hour: "1 day ago", 45 * time.Minute: "in 45 minutes", -90 * 24 * time.Hour: "3 months ago",
	} {
		if got := views.Relative(now.Add(d), now); got != want {
			t.Errorf("Relative(%v) = %q; want %q", d, got, want)
		}
	}
	html := render(t, views.Time(now.Add(168*time.Hour), now))
	has(t, "time", html, `<time datetime="2026-11-09T09:00:00Z" title="9 Nov 2026, 09:00 UTC">in 7 days</time>`)
}

func TestStatusFragmentsAndRegion(t *testing.T) {
	html := render(t, views.Status("Invitation sent to <b>bob</b>."))
	has(t, "status", html, `<div id="status" hx-swap-oob="innerHTML"><p>Invitation sent to &lt;b&gt;bob&lt;/b&gt;.</p></div>`,
		`<div id="status-error" hx-swap-oob="innerHTML"></div>`)
	html = render(t, views.LandingPage(views.Layout{SiteName: "Beckon"}))
	has(t, "page", html, `id="status" role="status" aria-live="polite"`, `id="status-error" role="alert"`,
		`<a href="#main" class="skip-link"`, `<main id="main"`, `src="/static/js/app.js"`)
}

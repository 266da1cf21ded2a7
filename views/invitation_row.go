package views

import (
	"context"
	"io"
	"time"

	"github.com/a-h/templ"

	"github.com/beckon-app/beckon/models"
)

// The components in this file are written in Go rather than templ. They are
// the row of every list of invitations a member sees (10 to 25 a page on
// the busiest pages of the site) and the <time> elements inside it and on
// most other pages. As templ they were a third of the CPU time of GET / and
// GET /invitations: each nested component cost a closure, context lookups
// and a buffer, and each templ.KV class list a CSS pass, for every row
// (docs/performance.md). Written here, a row is a few dozen writes into the
// page's buffer. They stay components (templ.Component) that the .templ
// files call like any other; their tests render them as before.

// written is the component that write renders through a markup of its
// writer.
func written(write func(m *markup)) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		m := newMarkup(w)
		write(m)
		return m.err
	})
}

// InvitationRow is one sent invitation: address, label, note, dates,
// status, delivery, the invitee's profile once joined, and the actions of a
// pending one.
func InvitationRow(inv models.Invitation, now time.Time) templ.Component {
	return written(func(m *markup) { m.invitationRow(inv, now) })
}

func (m *markup) invitationRow(inv models.Invitation, now time.Time) {
	m.raw(`<li id="invitation-`)
	m.int(inv.ID)
	m.raw(`" class="p-4" data-testid="invitation-row" data-status="`)
	m.text(inv.Status)
	m.raw(`"><div class="row-head"><div class="min-w-0 flex-1">`)
	m.raw(`<p class="row-email" title="`)
	m.text(inv.Email)
	m.raw(`" data-testid="invitation-email">`)
	m.text(inv.Email)
	m.raw(`</p>`)
	if inv.Label != "" {
		m.raw(`<p class="mt-1"><a href="`)
		m.text(SentList{Label: inv.Label}.PageURL(1))
		m.raw(`" class="badge badge-gray" data-testid="invitation-label" title="Show invitations with this label">`)
		m.text(inv.Label)
		m.raw(`</a></p>`)
	}
	if inv.Note != "" {
		m.raw(`<p class="mt-1 line-clamp-2 text-sm text-gray-600">`)
		m.text(inv.Note)
		m.raw(`</p>`)
	}
	m.raw(`<p class="row-meta">Sent `)
	m.time(inv.SentAt, now)
	switch inv.Status {
	case models.StatusPending:
		m.raw(` · expires `)
		m.time(inv.ExpiresAt, now)
	case models.StatusExpired:
		m.raw(` · expired `)
		m.time(inv.ExpiresAt, now)
	case models.StatusAccepted:
		m.raw(` · accepted `)
		m.time(inv.AcceptedAt, now)
	case models.StatusRevoked:
		m.raw(` · revoked `)
		m.time(inv.RevokedAt, now)
	case models.StatusDeclined:
		m.raw(` · declined by the invitee`)
	}
	if !inv.RemindedAt.IsZero() {
		m.raw(` <span data-testid="reminded">· reminded `)
		m.timeAs(inv.RemindedAt, dateLayout)
		m.raw(`</span>`)
	}
	m.raw(`</p>`)
	if inv.InviteeUsername != "" {
		m.raw(`<p class="mt-1 text-sm text-gray-700">Joined as <a href="/u/`)
		m.text(inv.InviteeUsername)
		m.raw(`" class="link" data-testid="invitee-link">@`)
		m.text(inv.InviteeUsername)
		m.raw(`</a></p>`)
	}
	m.raw(`</div><div class="row-side">`)
	m.statusBadge(inv.Status)
	m.deliveryStatus(inv)
	m.raw(`</div></div>`)
	if inv.Status == models.StatusPending {
		// The actions' forms swap the row they are in: said once here,
		// inherited by both.
		m.raw(`<div class="row-actions" hx-target="closest li" hx-swap="outerHTML">`)
		m.actionForm(inv, "resend", false)
		if inv.Delivery == models.DeliveryFailed {
			m.raw(`<button type="submit" class="btn-sm btn" aria-label="Resend the invitation to `)
		} else {
			m.raw(`<button type="submit" class="btn-sm btn-secondary" aria-label="Resend the invitation to `)
		}
		m.text(inv.Email)
		m.raw(`" data-testid="resend">Resend</button></form>`)
		m.actionForm(inv, "revoke", true)
		m.raw(`<button type="submit" class="btn-secondary btn-sm" aria-label="Revoke the invitation to `)
		m.text(inv.Email)
		m.raw(`" data-testid="revoke">Revoke</button></form></div>`)
	}
	m.raw(`</li>`)
}

// actionForm opens the form of a row's action (resend, revoke), which swaps
// the row in place (the target is its container's); with confirm, htmx asks
// first, and without JavaScript the form GETs a page that asks (the path's
// GET) instead of posting.
func (m *markup) actionForm(inv models.Invitation, action string, confirm bool) {
	if confirm {
		m.raw(`<form method="get" action="/invitations/`)
	} else {
		m.raw(`<form method="post" action="/invitations/`)
	}
	m.int(inv.ID)
	m.raw("/")
	m.raw(action)
	m.raw(`" hx-post="/invitations/`)
	m.int(inv.ID)
	m.raw("/")
	m.raw(action)
	m.raw(`"`)
	if confirm {
		m.raw(` hx-confirm="Withdraw the invitation to `)
		m.text(inv.Email)
		m.raw(`?"`)
	}
	m.raw(`>`)
}

// StatusBadge shows an invitation's status in colour.
func StatusBadge(status string) templ.Component {
	return written(func(m *markup) { m.statusBadge(status) })
}

// statusBadgeClasses are the badge's classes for each status (the colours
// are components of views/tailwind.css: badges are written in every row).
var statusBadgeClasses = map[string]string{
	models.StatusPending:             "badge badge-amber",
	models.StatusAccepted:            "badge badge-green",
	models.StatusJoinedIndependently: "badge badge-sky",
	models.StatusExpired:             "badge badge-gray",
	models.StatusDeclined:            "badge badge-gray",
	models.StatusRevoked:             "badge badge-red",
}

func (m *markup) statusBadge(status string) {
	class, ok := statusBadgeClasses[status]
	if !ok {
		class = "badge"
	}
	m.raw(`<span class="`)
	m.raw(class)
	m.raw(`" data-testid="status-badge">`)
	m.text(StatusLabel(status))
	m.raw(`</span>`)
}

// DeliveryStatus is an invitation's delivery badge, which, while its email
// is still on its way, asks GET /invitations/{id}/delivery every 2 seconds
// for itself again; the answer for a final state has no trigger, so the
// polling stops there.
func DeliveryStatus(inv models.Invitation) templ.Component {
	return written(func(m *markup) { m.deliveryStatus(inv) })
}

func (m *markup) deliveryStatus(inv models.Invitation) {
	m.raw(`<span id="invitation-`)
	m.int(inv.ID)
	if DeliveryFinal(inv.Delivery) {
		m.raw(`-delivery">`)
	} else {
		m.raw(`-delivery" hx-get="/invitations/`)
		m.int(inv.ID)
		m.raw(`/delivery" hx-trigger="every 2s" hx-swap="outerHTML">`)
	}
	m.deliveryBadge(inv.Delivery)
	m.raw(`</span>`)
}

// deliveryWords says how an invitation email fared.
var deliveryWords = map[string]string{
	models.DeliverySent:      "email sent",
	models.DeliveryFailed:    "email failed",
	models.DeliveryBounced:   "bounced: check the address",
	models.DeliveryCancelled: "email not sent",
	models.DeliveryLink:      "through a shared link",
}

// deliveryBadge shows how the invitation email fared; a failed or bounced
// one in red.
func (m *markup) deliveryBadge(delivery string) {
	if delivery == models.DeliveryFailed || delivery == models.DeliveryBounced {
		m.raw(`<span class="delivery delivery-failed" data-testid="delivery" data-delivery="`)
	} else {
		m.raw(`<span class="delivery" data-testid="delivery" data-delivery="`)
	}
	m.text(delivery)
	m.raw(`">`)
	words, ok := deliveryWords[delivery]
	if !ok {
		words = "email queued"
	}
	m.raw(words)
	m.raw(`</span>`)
}

// Time shows a moment as a <time> element: relative to now ("in 6 days",
// "3 hours ago") with the date in its title, or just the date when now is
// not known (the zero time).
func Time(t, now time.Time) templ.Component {
	return written(func(m *markup) { m.time(t, now) })
}

// Day shows a date as a <time> element, for pages that say when without a
// relative form.
func Day(t time.Time) templ.Component {
	return written(func(m *markup) { m.timeAs(t, dateLayout) })
}

// Moment shows a date and time of day as a <time> element.
func Moment(t time.Time) templ.Component {
	return written(func(m *markup) { m.timeAs(t, dateTimeLayout) })
}

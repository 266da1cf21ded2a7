package mail

import (
	"context"
	"strings"

	"github.com/a-h/templ"

	"github.com/beckon-app/beckon/models"
)

// TokenPlaceholder stands in a queued email's link where the token goes; the
// Deliverer replaces it with a token minted at delivery time, so that no raw
// token is ever stored.
const TokenPlaceholder = "BECKON-TOKEN-PLACEHOLDER"

// Composer writes the site's emails. It implements models.Composer.
type Composer struct {
	SiteName string
	BaseURL  string // without a trailing slash
}

var _ models.Composer = Composer{}

func (c Composer) link(path string) string {
	return c.url(path) + TokenPlaceholder
}

// url is the site's address of path, for links that need no token.
func (c Composer) url(path string) string {
	return strings.TrimRight(c.BaseURL, "/") + path
}

// Confirmation is the email that proves an address.
func (c Composer) Confirmation(u models.User) models.Email {
	name, link := u.DisplayName(), c.link("/confirm-email/")
	var t text
	t.line("Hello ", name, ",")
	t.line()
	t.line("Please confirm your email address for ", c.SiteName, " by opening this link:")
	t.line()
	t.line(link)
	t.line()
	t.line("The link works for 3 days. If you did not sign up, ignore this email.")
	return c.email("confirm", u.Email, "Confirm your email address for "+c.SiteName, t, confirmHTML(c.SiteName, name, link, 3))
}

// PasswordReset is the email with a password reset link.
func (c Composer) PasswordReset(u models.User) models.Email {
	name, link := u.DisplayName(), c.link("/password/reset/")
	var t text
	t.line("Hello ", name, ",")
	t.line()
	t.line("Someone asked to reset the password of your ", c.SiteName, " account (@", u.Username, ").")
	t.line("To choose a new password, open this link within the hour:")
	t.line()
	t.line(link)
	t.line()
	t.line("If it was not you, ignore this email: your password stays as it is.")
	return c.email("reset", u.Email, "Reset your "+c.SiteName+" password", t, resetHTML(c.SiteName, name, u.Username, link))
}

// invitationData is what the invitation email and its reminder say.
type invitationData struct {
	site, inviter, username, note, link, optOut, expires string
}

func (c Composer) invitationData(inv models.Invitation, inviter models.User) invitationData {
	return invitationData{site: c.SiteName, inviter: inviter.Name, username: inviter.Username, note: inv.Note,
		link: c.link("/join/"), optOut: c.link("/optout/"), expires: inv.ExpiresAt.Format("Monday 2 January 2006 at 15:04 MST")}
}

// Invitation is the email that carries an invitation link: who invites (name
// and username), their note, the link and the expiry date, and the opt-out
// link, /optout/ with the same token as the join link (so it needs no token
// of its own: the delivery fills every placeholder with the one token).
func (c Composer) Invitation(inv models.Invitation, inviter models.User) models.Email {
	return c.invitation("invitation", inv.Email, inviter.DisplayName()+" invited you to join "+c.SiteName, c.invitationData(inv, inviter), false)
}

// InvitationReminder is the one reminder of a pending invitation, sent a
// while before it expires: the invitation email again, said as a reminder,
// with a link of its own (the first email's keeps working) and the opt-out.
func (c Composer) InvitationReminder(inv models.Invitation, inviter models.User) models.Email {
	return c.invitation("invitation_reminder", inv.Email, "Reminder: "+inviter.DisplayName()+" invited you to join "+c.SiteName, c.invitationData(inv, inviter), true)
}

func (c Composer) invitation(kind, to, subject string, d invitationData, reminder bool) models.Email {
	var t text
	if reminder {
		t.add("A reminder: ")
	}
	t.member(d.inviter, d.username)
	t.line(" invited you to join ", d.site, ".")
	t.quoted(d.note)
	t.line()
	t.line("To accept, open this link and choose a password:")
	t.line()
	t.line(d.link)
	t.line()
	if reminder {
		t.line("The invitation expires on ", d.expires, ". The link works once, and so does")
		t.line("the one in the first email; this is the only reminder.")
	} else {
		t.line("The invitation expires on ", d.expires, ". The link works once.")
	}
	t.line()
	t.line("Not interested? To get no more invitations from anyone on ", d.site, ", open:")
	t.line(d.optOut)
	return c.email(kind, to, subject, t, invitationHTML(d, reminder))
}

// InviteeJoined tells an inviter that someone joined through their
// invitation, with a link to the new member's profile. It carries no token.
func (c Composer) InviteeJoined(inviter, invitee models.User) models.Email {
	name, profile := inviter.DisplayName(), c.url("/u/"+invitee.Username)
	var t text
	t.line("Hello ", name, ",")
	t.line()
	t.member(invitee.Name, invitee.Username)
	t.line(" joined ", c.SiteName, " through your invitation.")
	t.line("See their profile:")
	t.line()
	t.line(profile)
	t.line()
	t.line("You can turn these emails off on your settings page.")
	return c.email("invitee_joined", inviter.Email, invitee.DisplayName()+" joined "+c.SiteName, t,
		inviteeJoinedHTML(c.SiteName, name, invitee.Name, invitee.Username, profile))
}

// InvitationBounced tells an inviter that the mail server refused their
// invitation's address for good, so that they check it.
func (c Composer) InvitationBounced(inv models.Invitation, inviter models.User) models.Email {
	name, list := inviter.DisplayName(), c.url("/invitations")
	var t text
	t.line("Hello ", name, ",")
	t.line()
	t.line("Your invitation to ", inv.Email, " could not be delivered: the mail server")
	t.line("refused the address. Please check the address; the invitation was withdrawn")
	t.line("and given back, so you can invite the right one:")
	t.line()
	t.line(list)
	return c.email("invitation_bounced", inviter.Email, "Your invitation to "+inv.Email+" could not be delivered", t,
		invitationBouncedHTML(name, inv.Email, list))
}

// RequestConfirmation is the email whose link confirms a request for an
// invitation, so that nobody can queue requests in another's name.
func (c Composer) RequestConfirmation(email string) models.Email {
	link := c.link("/request/confirm/")
	var t text
	t.line("Hello,")
	t.line()
	t.line("Someone, we hope you, asked for an invitation to ", c.SiteName, " with this address.")
	t.line("To confirm the request, open this link:")
	t.line()
	t.line(link)
	t.line()
	t.line("The link works for 3 days. Once you confirm, the staff of ", c.SiteName)
	t.line("will read your request and email you their answer. If it was not you,")
	t.line("ignore this email and nothing happens.")
	return c.email("request_confirm", email, "Confirm your request to join "+c.SiteName, t, requestConfirmHTML(c.SiteName, link, 3))
}

// RequestDeclined tells a requester that staff said no, with their reason
// when they gave one.
func (c Composer) RequestDeclined(email, reason string) models.Email {
	var t text
	t.line("Hello,")
	t.line()
	t.line("Thank you for asking to join ", c.SiteName, ". The staff have declined your request.")
	t.quoted(reason)
	t.line()
	return c.email("request_declined", email, "Your request to join "+c.SiteName, t, requestDeclinedHTML(c.SiteName, reason))
}

// email puts an email's parts together. The HTML components write to
// memory, so rendering them can only fail on a programming error, which
// the tests catch.
func (c Composer) email(kind, to, subject string, t text, html templ.Component) models.Email {
	var b strings.Builder
	b.Grow(1024)
	if err := html.Render(context.Background(), &b); err != nil {
		panic("mail: " + err.Error())
	}
	return models.Email{Kind: kind, To: to, Subject: subject, Text: t.b.String(), HTML: b.String()}
}

// text is the plain-text part of an email, written line by line and sent
// as written: nothing in it is escaped.
type text struct{ b strings.Builder }

// add writes parts without ending the line.
func (t *text) add(parts ...string) {
	for _, p := range parts {
		t.b.WriteString(p)
	}
}

// line writes parts and ends the line.
func (t *text) line(parts ...string) {
	t.add(parts...)
	t.b.WriteByte('\n')
}

// member writes a member's name and username, or the username alone.
func (t *text) member(name, username string) {
	if name != "" {
		t.add(name, " (@", username, ")")
	} else {
		t.add("@", username)
	}
}

// quoted writes what someone wrote, after a blank line, if anything.
func (t *text) quoted(s string) {
	if s == "" {
		return
	}
	t.line()
	t.line("They wrote:")
	t.line()
	t.line(s)
}

// linkWorksOnce is the invitation email's word on its link.
func linkWorksOnce(reminder bool) string {
	if reminder {
		return "The link works once, and so does the one in the first email; this is the only reminder."
	}
	return "The link works once."
}

package mail

import (
	"bytes"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

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
	return c.render(u.Email, "Confirm your email address for "+c.SiteName, "confirm", map[string]any{
		"Site": c.SiteName, "Name": u.DisplayName(), "Link": c.link("/confirm-email/"), "Days": 3,
	})
}

// PasswordReset is the email with a password reset link.
func (c Composer) PasswordReset(u models.User) models.Email {
	return c.render(u.Email, "Reset your "+c.SiteName+" password", "reset", map[string]any{
		"Site": c.SiteName, "Name": u.DisplayName(), "Username": u.Username, "Link": c.link("/password/reset/"),
	})
}

// Invitation is the email that carries an invitation link: who invites (name
// and username), their note, the link and the expiry date, and the opt-out
// link, /optout/ with the same token as the join link (so it needs no token
// of its own: the delivery fills every placeholder with the one token).
func (c Composer) Invitation(inv models.Invitation, inviter models.User) models.Email {
	return c.render(inv.Email, inviter.DisplayName()+" invited you to join "+c.SiteName, "invitation", map[string]any{
		"Site": c.SiteName, "Inviter": inviter.Name, "Username": inviter.Username, "Note": inv.Note,
		"Link": c.link("/join/"), "OptOut": c.link("/optout/"),
		"Expires": inv.ExpiresAt.Format("Monday 2 January 2006 at 15:04 MST"),
	})
}

// InvitationReminder is the one reminder of a pending invitation, sent a
// while before it expires: the invitation email again, said as a reminder,
// with a link of its own (the first email's keeps working) and the opt-out.
func (c Composer) InvitationReminder(inv models.Invitation, inviter models.User) models.Email {
	return c.render(inv.Email, "Reminder: "+inviter.DisplayName()+" invited you to join "+c.SiteName, "invitation_reminder", map[string]any{
		"Site": c.SiteName, "Inviter": inviter.Name, "Username": inviter.Username, "Note": inv.Note,
		"Link": c.link("/join/"), "OptOut": c.link("/optout/"),
		"Expires": inv.ExpiresAt.Format("Monday 2 January 2006 at 15:04 MST"),
	})
}

// InviteeJoined tells an inviter that someone joined through their
// invitation, with a link to the new member's profile. It carries no token.
func (c Composer) InviteeJoined(inviter, invitee models.User) models.Email {
	return c.render(inviter.Email, invitee.DisplayName()+" joined "+c.SiteName, "invitee_joined", map[string]any{
		"Site": c.SiteName, "Name": inviter.DisplayName(), "Invitee": invitee.Name, "Username": invitee.Username,
		"Profile": c.url("/u/" + invitee.Username),
	})
}

// InvitationBounced tells an inviter that the mail server refused their
// invitation's address for good, so that they check it.
func (c Composer) InvitationBounced(inv models.Invitation, inviter models.User) models.Email {
	return c.render(inviter.Email, "Your invitation to "+inv.Email+" could not be delivered", "invitation_bounced", map[string]any{
		"Site": c.SiteName, "Name": inviter.DisplayName(), "Email": inv.Email, "Invitations": c.url("/invitations"),
	})
}

// RequestConfirmation is the email whose link confirms a request for an
// invitation, so that nobody can queue requests in another's name.
func (c Composer) RequestConfirmation(email string) models.Email {
	return c.render(email, "Confirm your request to join "+c.SiteName, "request_confirm", map[string]any{
		"Site": c.SiteName, "Link": c.link("/request/confirm/"), "Days": 3,
	})
}

// RequestDeclined tells a requester that staff said no, with their reason
// when they gave one.
func (c Composer) RequestDeclined(email, reason string) models.Email {
	return c.render(email, "Your request to join "+c.SiteName, "request_declined", map[string]any{
		"Site": c.SiteName, "Reason": reason,
	})
}

func (c Composer) render(to, subject, name string, data map[string]any) models.Email {
	var text, html bytes.Buffer
	// The templates are constants of this file, so executing them can only
	// fail on a programming error, which the tests catch.
	if err := textTemplates.ExecuteTemplate(&text, name, data); err != nil {
		panic("mail: " + err.Error())
	}
	if err := htmlTemplates.ExecuteTemplate(&html, name, data); err != nil {
		panic("mail: " + err.Error())
	}
	return models.Email{Kind: name, To: to, Subject: subject, Text: text.String(), HTML: html.String()}
}

var textTemplates = texttemplate.Must(texttemplate.New("").Parse(`
{{define "confirm"}}Hello {{.Name}},

Please confirm your email address for {{.Site}} by opening this link:

{{.Link}}

The link works for {{.Days}} days. If you did not sign up, ignore this email.
{{end}}
{{define "reset"}}Hello {{.Name}},

Someone asked to reset the password of your {{.Site}} account (@{{.Username}}).
To choose a new password, open this link within the hour:

{{.Link}}

If it was not you, ignore this email: your password stays as it is.
{{end}}
{{define "invitation"}}{{with .Inviter}}{{.}} (@{{$.Username}}){{else}}@{{.Username}}{{end}} invited you to join {{.Site}}.
{{if .Note}}
They wrote:

{{.Note}}
{{end}}
To accept, open this link and choose a password:

{{.Link}}

The invitation expires on {{.Expires}}. The link works once.

Not interested? To get no more invitations from anyone on {{.Site}}, open:
{{.OptOut}}
{{end}}
{{define "invitation_reminder"}}A reminder: {{with .Inviter}}{{.}} (@{{$.Username}}){{else}}@{{.Username}}{{end}} invited you to join {{.Site}}.
{{if .Note}}
They wrote:

{{.Note}}
{{end}}
To accept, open this link and choose a password:

{{.Link}}

The invitation expires on {{.Expires}}. The link works once, and so does
the one in the first email; this is the only reminder.

Not interested? To get no more invitations from anyone on {{.Site}}, open:
{{.OptOut}}
{{end}}
{{define "invitee_joined"}}Hello {{.Name}},

{{with .Invitee}}{{.}} (@{{$.Username}}){{else}}@{{.Username}}{{end}} joined {{.Site}} through your invitation.
See their profile:

{{.Profile}}

You can turn these emails off on your settings page.
{{end}}
{{define "invitation_bounced"}}Hello {{.Name}},

Your invitation to {{.Email}} could not be delivered: the mail server
refused the address. Please check the address; the invitation was withdrawn
and given back, so you can invite the right one:

{{.Invitations}}
{{end}}
{{define "request_confirm"}}Hello,

Someone, we hope you, asked for an invitation to {{.Site}} with this address.
To confirm the request, open this link:

{{.Link}}

The link works for {{.Days}} days. Once you confirm, the staff of {{.Site}}
will read your request and email you their answer. If it was not you,
ignore this email and nothing happens.
{{end}}
{{define "request_declined"}}Hello,

Thank you for asking to join {{.Site}}. The staff have declined your request.
{{if .Reason}}
They wrote:

{{.Reason}}
{{end}}
{{end}}`))

var htmlTemplates = htmltemplate.Must(htmltemplate.New("").Parse(`
{{define "head"}}<!DOCTYPE html><html><body style="font-family:system-ui,sans-serif;color:#111827;line-height:1.5;max-width:560px;margin:0 auto;padding:24px">{{end}}
{{define "button"}}<p><a href="{{.}}" style="display:inline-block;background:#4f46e5;color:#ffffff;padding:10px 18px;border-radius:6px;text-decoration:none;font-weight:600">{{template "label" .}}</a></p><p style="font-size:13px;color:#6b7280">Or paste this link into your browser:<br>{{.}}</p>{{end}}
{{define "label"}}Open the link{{end}}
{{define "confirm"}}{{template "head"}}<p>Hello {{.Name}},</p><p>Please confirm your email address for {{.Site}}.</p>{{template "button" .Link}}<p>The link works for {{.Days}} days. If you did not sign up, ignore this email.</p></body></html>{{end}}
{{define "reset"}}{{template "head"}}<p>Hello {{.Name}},</p><p>Someone asked to reset the password of your {{.Site}} account (@{{.Username}}). The link works for one hour.</p>{{template "button" .Link}}<p>If it was not you, ignore this email: your password stays as it is.</p></body></html>{{end}}
{{define "invitation"}}{{template "head"}}<p>{{with .Inviter}}<strong>{{.}}</strong> (@{{$.Username}}){{else}}<strong>@{{.Username}}</strong>{{end}} invited you to join {{.Site}}.</p>{{if .Note}}<blockquote style="border-left:3px solid #c7d2fe;margin:16px 0;padding:4px 12px;color:#374151;white-space:pre-line">{{.Note}}</blockquote>{{end}}{{template "button" .Link}}<p>The invitation expires on {{.Expires}}. The link works once.</p><p style="font-size:13px;color:#6b7280">Not interested? <a href="{{.OptOut}}" style="color:#6b7280">Get no more invitations from anyone on {{.Site}}</a>.</p></body></html>{{end}}
{{define "invitation_reminder"}}{{template "head"}}<p>A reminder: {{with .Inviter}}<strong>{{.}}</strong> (@{{$.Username}}){{else}}<strong>@{{.Username}}</strong>{{end}} invited you to join {{.Site}}.</p>{{if .Note}}<blockquote style="border-left:3px solid #c7d2fe;margin:16px 0;padding:4px 12px;color:#374151;white-space:pre-line">{{.Note}}</blockquote>{{end}}{{template "button" .Link}}<p>The invitation expires on {{.Expires}}. The link works once, and so does the one in the first email; this is the only reminder.</p><p style="font-size:13px;color:#6b7280">Not interested? <a href="{{.OptOut}}" style="color:#6b7280">Get no more invitations from anyone on {{.Site}}</a>.</p></body></html>{{end}}
{{define "invitee_joined"}}{{template "head"}}<p>Hello {{.Name}},</p><p>{{with .Invitee}}<strong>{{.}}</strong> (@{{$.Username}}){{else}}<strong>@{{.Username}}</strong>{{end}} joined {{.Site}} through your invitation.</p>{{template "button" .Profile}}<p style="font-size:13px;color:#6b7280">You can turn these emails off on your settings page.</p></body></html>{{end}}
{{define "invitation_bounced"}}{{template "head"}}<p>Hello {{.Name}},</p><p>Your invitation to <strong>{{.Email}}</strong> could not be delivered: the mail server refused the address. Please check the address; the invitation was withdrawn and given back, so you can invite the right one.</p>{{template "button" .Invitations}}</body></html>{{end}}
{{define "request_confirm"}}{{template "head"}}<p>Hello,</p><p>Someone, we hope you, asked for an invitation to {{.Site}} with this address. To confirm the request, open the link.</p>{{template "button" .Link}}<p>The link works for {{.Days}} days. Once you confirm, the staff of {{.Site}} will read your request and email you their answer. If it was not you, ignore this email and nothing happens.</p></body></html>{{end}}
{{define "request_declined"}}{{template "head"}}<p>Hello,</p><p>Thank you for asking to join {{.Site}}. The staff have declined your request.</p>{{if .Reason}}<p>They wrote:</p><blockquote style="border-left:3px solid #c7d2fe;margin:16px 0;padding:4px 12px;color:#374151;white-space:pre-line">{{.Reason}}</blockquote>{{end}}</body></html>{{end}}`))

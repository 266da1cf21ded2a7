package views

import (
	"time"

	"fmt"
	"net/url"
	"strconv"

	"github.com/beckon-app/beckon/models"
)

// Bulk operations of the dashboard, by the path segment they post to.
const (
	BulkTopOff    = "topoff"
	BulkAddTo     = "addto"
	BulkUnlimited = "unlimited"
)

// BulkForm is one of the dashboard's forms that change every member.
type BulkForm struct {
	Kind      string // BulkTopOff, BulkAddTo or BulkUnlimited
	Amount    string
	Unlimited string // "on" or "off", for BulkUnlimited
	Errors    FieldErrors
	Result    string // what the last run changed
	// Key is the form's idempotency key (see models.Staff.Keyed): made
	// when the form is rendered, so that sending it twice changes once.
	Key string
}

// IdempotencyField is the name of the forms' idempotency key field.
const IdempotencyField = "idempotency_key"

// StaffDashboard is the /staff page.
type StaffDashboard struct {
	Stats models.Stats
	Forms []BulkForm
}

// StaffUsers is a page of the staff user list.
type StaffUsers struct {
	Users []models.User
	Query string
	After string // the cursor this page started from; "" on the first page
	Next  string // the cursor of the next page; "" on the last
	// Refused is the block of a user whose form was refused (no JavaScript),
	// shown in place of the plain one; zero when none.
	Refused UserStat
	// FormKey starts the idempotency keys of the page's per-user forms
	// (UserStat.Key), made once for the page.
	FormKey string
}

// NextURL links the next page of the same search.
func (p StaffUsers) NextURL() string {
	q := url.Values{"after": {p.Next}}
	if p.Query != "" {
		q.Set("q", p.Query)
	}
	return "/staff/users?" + q.Encode()
}

// FirstURL links the first page of the same search.
func (p StaffUsers) FirstURL() string {
	if p.Query == "" {
		return "/staff/users"
	}
	return "/staff/users?" + url.Values{"q": {p.Query}}.Encode()
}

// UserStat is one user's allocation block on the staff pages.
type UserStat struct {
	User    models.User
	Next    string // where a plain form post returns to
	Message string // what the last change did
	// A refused form: which one (BulkTopOff, BulkAddTo or BulkUnlimited),
	// the amount as typed, and the messages for its fields.
	Action string
	Amount string
	Errors FieldErrors
	// Key starts the idempotency keys of the block's forms, one for each
	// (formKey): made when the block is rendered.
	Key string
}

// formKey is the idempotency key of the block's form for action.
func (s UserStat) formKey(action string) string {
	if s.Key == "" {
		return ""
	}
	return s.Key + "-" + action
}

// amountFor is the value of the amount field of the form for action: what
// was typed when that form was refused.
func (s UserStat) amountFor(action string) string {
	if s.Action == action {
		return s.Amount
	}
	return ""
}

// errorsFor is the messages of the form for action.
func (s UserStat) errorsFor(action string) FieldErrors {
	if s.Action == action {
		return s.Errors
	}
	return nil
}

// limitedAmount is the value offered when a user's unlimited invitations
// are turned off: what was typed, or the allocation kept under the flag.
func limitedAmount(s UserStat) string {
	if s.Action == BulkUnlimited {
		return s.Amount
	}
	return strconv.Itoa(s.User.Allocation.Allocated)
}

// statFor is the block of u on a page of users.
func (p StaffUsers) statFor(u models.User, next string) UserStat {
	if p.Refused.User.ID == u.ID {
		return p.Refused
	}
	s := UserStat{User: u, Next: next}
	if p.FormKey != "" {
		s.Key = p.FormKey + "-" + strconv.FormatInt(u.ID, 10)
	}
	return s
}

// StaffInvitations is a page of every member's invitations, newest first.
type StaffInvitations struct {
	Invitations []models.Invitation
	Status      string
	Inviter     string
	Label       string
	Before      int64 // the cursor this page started from (ids below it); 0 on the first page
	Next        int64 // the cursor of the next page; 0 on the last
}

// NextURL links the next (older) page with the same filters.
func (p StaffInvitations) NextURL() string { return p.url(p.Next) }

// FirstURL links the first (newest) page with the same filters.
func (p StaffInvitations) FirstURL() string { return p.url(0) }

func (p StaffInvitations) url(before int64) string {
	q := url.Values{}
	if p.Status != "" {
		q.Set("status", p.Status)
	}
	if p.Inviter != "" {
		q.Set("inviter", p.Inviter)
	}
	if p.Label != "" {
		q.Set("label", p.Label)
	}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if len(q) == 0 {
		return "/staff/invitations"
	}
	return "/staff/invitations?" + q.Encode()
}

// AuditLog is a page of the audit log.
type AuditLog struct {
	Entries []models.AuditEntry
	Page    int
	More    bool
	Now     time.Time
}

func auditPageURL(n int) string { return fmt.Sprintf("/staff/audit?page=%d", n) }

// AuditSummary says in words what an audit entry did.
func AuditSummary(e models.AuditEntry) string {
	target := "every member"
	if e.TargetID != 0 {
		target = "@" + e.TargetName
		if e.TargetName == "" {
			target = fmt.Sprintf("user %d", e.TargetID)
		}
	}
	switch e.Action {
	case models.ActionTopOff:
		return fmt.Sprintf("Topped off %s to %d remaining", target, e.Amount)
	case models.ActionAddTo:
		if e.OnlyEmpty {
			return fmt.Sprintf("Added %d to %s with none left", e.Amount, target)
		}
		return fmt.Sprintf("Added %d to %s", e.Amount, target)
	case models.ActionUnlimitedOn:
		return "Gave " + target + " unlimited invitations"
	case models.ActionUnlimitedOff:
		return fmt.Sprintf("Gave %s a plain allocation of %d", target, e.Amount)
	case models.ActionRevoke:
		return "Revoked the invitation to " + e.TargetName
	case models.ActionJoiningPaused:
		return "Paused joining"
	case models.ActionJoiningReopened:
		return "Reopened joining"
	case models.ActionBlockedDomains:
		return "Set the blocked domains: " + Plural(e.Amount, "domain", "domains")
	case models.ActionExpireAll:
		return fmt.Sprintf("Expired every pending invitation: %s", Plural(e.Amount, "invitation", "invitations"))
	case models.ActionEarned:
		return fmt.Sprintf("%s earned %d through invitees in good standing", target, e.Amount)
	case models.ActionSuspend:
		if e.UsersChanged == 0 {
			return "Suspended " + target + " (already suspended)"
		}
		return fmt.Sprintf("Suspended %s, revoking %s", target, Plural(e.InvitationsChanged, "pending invitation", "pending invitations"))
	case models.ActionUnsuspend:
		if e.UsersChanged == 0 {
			return "Unsuspended " + target + " (was not suspended)"
		}
		return "Unsuspended " + target
	case models.ActionInvitingOff:
		return "Turned inviting off for " + target
	case models.ActionInvitingOn:
		return "Turned inviting on for " + target
	case models.ActionSubtreeRevoke:
		return fmt.Sprintf("Revoked %s sent by %s and their subtree", Plural(e.InvitationsChanged, "pending invitation", "pending invitations"), target)
	case models.ActionSubtreeSuspend:
		return fmt.Sprintf("Suspended %s and their subtree: %s, %s revoked", target, Plural(e.UsersChanged, "member", "members"),
			Plural(e.InvitationsChanged, "pending invitation", "pending invitations"))
	}
	return e.Action
}

// Percent formats a share from 0 to 1.
func Percent(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }

// chartBar is one bar of the activity chart, in SVG units.
type chartBar struct {
	X, Y, W, H float64
	Fill       string
	Title      string
}

const (
	chartWidth  = 720.0
	chartHeight = 180.0
	chartBottom = 160.0 // the baseline; below it the date labels
)

// chartBars lays out two bars a day (invitations and joins) scaled to the
// busiest day.
func chartBars(days []models.DayCount) []chartBar {
	peak := 1
	for _, d := range days {
		peak = max(peak, d.Invitations, d.Joins)
	}
	if len(days) == 0 {
		return nil
	}
	slot := chartWidth / float64(len(days))
	w := slot * 0.38
	scale := (chartBottom - 10) / float64(peak)
	var bars []chartBar
	for i, d := range days {
		x := float64(i)*slot + slot*0.1
		day := d.Day.Format("2 Jan")
		hi, hj := float64(d.Invitations)*scale, float64(d.Joins)*scale
		bars = append(bars,
			chartBar{X: x, Y: chartBottom - hi, W: w, H: hi, Fill: "#6366f1", Title: fmt.Sprintf("%s: %s sent", day, Plural(d.Invitations, "invitation", "invitations"))},
			chartBar{X: x + w, Y: chartBottom - hj, W: w, H: hj, Fill: "#22c55e", Title: fmt.Sprintf("%s: %s", day, Plural(d.Joins, "join", "joins"))},
		)
	}
	return bars
}

// chartLabel is a date under the chart.
type chartLabel struct {
	X      float64
	Text   string
	Anchor string // text-anchor: the newest day's label ends at the edge
}

// chartLabels marks every seventh day, counting back from today.
func chartLabels(days []models.DayCount) []chartLabel {
	if len(days) == 0 {
		return nil
	}
	slot := chartWidth / float64(len(days))
	var out []chartLabel
	for i := len(days) - 1; i >= 0; i -= 7 {
		l := chartLabel{X: float64(i)*slot + slot/2, Text: days[i].Day.Format("2 Jan"), Anchor: "middle"}
		if i == len(days)-1 {
			l.X, l.Anchor = chartWidth, "end"
		}
		out = append(out, l)
	}
	return out
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// BulkPath is where a bulk form of kind posts.
func BulkPath(kind string) string { return "/staff/" + kind }

func bulkFormID(kind string) string { return "bulk-" + kind }

func userStatID(u models.User) string { return fmt.Sprintf("user-stat-%d", u.ID) }

func userPath(u models.User, action string) string {
	return fmt.Sprintf("/staff/users/%d/%s", u.ID, action)
}

// StaffRevokePath is where staff revoke inv; its GET asks first.
func StaffRevokePath(inv models.Invitation) string {
	return fmt.Sprintf("/staff/invitations/%d/revoke", inv.ID)
}

func staffRowID(inv models.Invitation) string { return fmt.Sprintf("staff-invitation-%d", inv.ID) }

// bulkQuestion is what the confirmation of a bulk form asks.
// bulkConfirmTemplate is the sentence app.js asks before a bulk form, with
// the amount typed and the member count filled in (see static/js/app.js);
// bulkConfirmOn is the unlimited form's for "on".
func bulkConfirmTemplate(f BulkForm) string {
	switch f.Kind {
	case BulkTopOff:
		return "Top off every member with a limited allocation to {amount} {invitations} left? There are {members} members."
	case BulkAddTo:
		return "Add {amount} {invitations} to every member with a limited allocation? There are {members} members."
	default:
		return "Turn unlimited invitations off for all {members} members, each with a plain allocation of {amount}?"
	}
}

func bulkConfirmOn(f BulkForm) string {
	if f.Kind == BulkUnlimited {
		return "Give all {members} members unlimited invitations?"
	}
	return ""
}

func bulkQuestion(f BulkForm) string {
	switch f.Kind {
	case BulkTopOff:
		return "Top off every member with a limited allocation to the amount you entered?"
	case BulkAddTo:
		return "Add the amount you entered to every member with a limited allocation?"
	default:
		return "Change unlimited invitations for every member?"
	}
}

// BulkQuestionFor is the confirmation page's question, with the amount.
func BulkQuestionFor(f BulkForm, amount int) string {
	switch f.Kind {
	case BulkTopOff:
		return fmt.Sprintf("Every member with a limited allocation and fewer than %d invitations left will have exactly %d left.", amount, amount)
	case BulkAddTo:
		return fmt.Sprintf("Every member with a limited allocation gets %d more invitations.", amount)
	}
	if f.Unlimited == "on" {
		return "Every member gets unlimited invitations."
	}
	return fmt.Sprintf("Every member loses unlimited invitations and gets a plain allocation of %d.", amount)
}

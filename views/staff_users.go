package views

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/beckon-app/beckon/models"
)

// Moderation forms, by the path segment they post to under /staff/users/{id}.
const (
	ModSuspend     = "suspend"
	ModUnsuspend   = "unsuspend"
	ModInvitingOff = "inviting-off"
	ModInvitingOn  = "inviting-on"
)

// ModerationForm is one of the moderation forms of the staff user page as
// typed, with its messages, when it was refused.
type ModerationForm struct {
	Action string // ModSuspend, ModUnsuspend, ModInvitingOff or ModInvitingOn
	Reason string
	Errors FieldErrors
}

// StaffUser is /staff/users/{id}: one member, for staff.
type StaffUser struct {
	User         models.User
	Self         bool // the staff member looking is this member
	Standing     models.Standing
	Inviter      models.User // zero when they joined on their own
	Invitees     []models.Invitee
	InviteesFrom int64 // the cursor this page of invitees started after; 0 on the first
	InviteesNext int64 // the cursor of the next page; 0 on the last
	Subtree      models.SubtreeStats
	History      []models.AuditEntry
	Stat         UserStat
	Form         ModerationForm // a refused form, or zero
}

// formFor is what the form for action shows: what was typed when it was refused.
func (p StaffUser) formFor(action string) ModerationForm {
	if p.Form.Action == action {
		return p.Form
	}
	return ModerationForm{Action: action}
}

// SubtreePreview is the confirmation of a subtree action, with its counts.
type SubtreePreview struct {
	User    models.User
	Preview models.SubtreePreview
	Subtree models.SubtreeStats
	Reason  string
	Errors  FieldErrors
}

// Question says what the action will change.
func (p SubtreePreview) Question() string {
	name := "@" + p.User.Username
	inv := Plural(p.Preview.Invitations, "pending invitation", "pending invitations")
	if p.Preview.Action == models.SubtreeSuspend {
		return fmt.Sprintf("This suspends %s: %s and everyone they brought in, directly or not, who is not suspended yet, and revokes their %s.",
			Plural(p.Preview.Members, "member", "members"), name, inv)
	}
	return fmt.Sprintf("This revokes %s sent by %s and everyone they brought in (%s), giving each back.",
		inv, name, Plural(p.Preview.Members, "inviter", "inviters"))
}

// StaffUserURL is a member's staff page.
func StaffUserURL(id int64) string { return "/staff/users/" + strconv.FormatInt(id, 10) }

func moderationPath(u models.User, action string) string {
	switch action {
	case ModInvitingOff, ModInvitingOn:
		return StaffUserURL(u.ID) + "/inviting"
	}
	return StaffUserURL(u.ID) + "/" + action
}

func subtreePreviewURL(u models.User, action string) string {
	return StaffUserURL(u.ID) + "/subtree?action=" + action
}

func subtreeActionPath(u models.User, action string) string {
	return StaffUserURL(u.ID) + "/subtree/" + action
}

func inviteesNextURL(p StaffUser) string {
	return StaffUserURL(p.User.ID) + "?after=" + strconv.FormatInt(p.InviteesNext, 10) + "#invitees"
}

// auditActor names who made an audit entry.
func auditActor(e models.AuditEntry) string {
	if e.ActorUsername != "" {
		return "@" + e.ActorUsername
	}
	if e.ActorID != 0 {
		return fmt.Sprintf("user %d", e.ActorID)
	}
	return "command line"
}

// suspendedNames lists a subtree's suspended members by name.
func suspendedNames(st models.SubtreeStats) string {
	names := make([]string, len(st.Names))
	for i, n := range st.Names {
		names[i] = "@" + n
	}
	out := strings.Join(names, ", ")
	if more := st.Suspended - len(st.Names); more > 0 {
		out += fmt.Sprintf(" and %d more", more)
	}
	return out
}

// moderationTitle heads a moderation form.
func moderationTitle(action string) string {
	switch action {
	case ModSuspend:
		return "Suspend this member"
	case ModUnsuspend:
		return "Unsuspend this member"
	case ModInvitingOff:
		return "Turn inviting off"
	}
	return "Turn inviting on"
}

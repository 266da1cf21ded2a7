package views

import (
	"strconv"

	"github.com/beckon-app/beckon/models"
)

// Profile is a member's public page.
type Profile struct {
	User     models.User
	Inviter  models.User // zero when they joined without an invitation
	Invited  int         // how many members they brought in, in all
	Invitees models.MemberPage
}

// PrevURL is the profile's page of invitees before this one.
func (p Profile) PrevURL() string {
	return profilePath(p.User.Username) + "?before=" + strconv.FormatInt(p.Invitees.Members[0].ID, 10)
}

// NextURL is the profile's page of invitees after this one.
func (p Profile) NextURL() string {
	return profilePath(p.User.Username) + "?after=" + strconv.FormatInt(p.Invitees.Members[len(p.Invitees.Members)-1].ID, 10)
}

// TreeList is one page of the invitation tree's nodes: the roots (Parent
// zero), or the members whom Parent brought in.
type TreeList struct {
	Parent models.User
	Page   models.MemberPage
}

// path is where this list's pages are: /tree or /tree/{id}.
func (t TreeList) path() string {
	if t.Parent.ID == 0 {
		return "/tree"
	}
	return treeNodePath(t.Parent.ID)
}

// NextURL is the list's next page.
func (t TreeList) NextURL() string {
	return t.path() + "?after=" + strconv.FormatInt(t.Page.Members[len(t.Page.Members)-1].ID, 10)
}

// moreLabel names the button that loads the next page.
func (t TreeList) moreLabel() string {
	if t.Parent.ID == 0 {
		return "More members who joined on their own"
	}
	return "More members @" + t.Parent.Username + " invited"
}

func profilePath(username string) string { return "/u/" + username }

func treeNodePath(id int64) string { return "/tree/" + strconv.FormatInt(id, 10) }

// treeChildrenID is the id of the list that a node's invitees load into.
func treeChildrenID(id int64) string { return "tree-children-" + strconv.FormatInt(id, 10) }

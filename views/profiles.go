package views

import "github.com/beckon-app/beckon/models"

// Profile is a member's public page.
type Profile struct {
	User     models.User
	Inviter  models.User // zero when they joined without an invitation
	Invitees []models.User
}

// TreeNode is a member and the members they brought in.
type TreeNode struct {
	ID       int64
	Username string
	Name     string
	Children []*TreeNode
}

package models

import (
	"context"
	"fmt"
)

// Invitees returns the members whom the user brought in, oldest first.
func (m *Users) Invitees(ctx context.Context, id int64) ([]User, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT `+userColumns+userFrom+` WHERE invited_by = ? ORDER BY users.id`, id)
	if err != nil {
		return nil, fmt.Errorf("models: invitees: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: invitees: %w", err)
	}
	return out, nil
}

// Member is one entry of the invitation tree.
type Member struct {
	ID        int64
	Username  string
	Name      string
	InvitedBy int64 // 0 for a member who joined on their own
}

// Members returns every member in the order they joined, with who invited
// them: the material of the invitation tree, in one query.
func (m *Users) Members(ctx context.Context) ([]Member, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT id, username, name, coalesce(invited_by, 0) FROM users ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("models: members: %w", err)
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var mb Member
		if err := rows.Scan(&mb.ID, &mb.Username, &mb.Name, &mb.InvitedBy); err != nil {
			return nil, fmt.Errorf("models: members: %w", err)
		}
		out = append(out, mb)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: members: %w", err)
	}
	return out, nil
}

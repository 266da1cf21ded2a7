package models

import (
	"context"
	"fmt"
)

// Member is one entry of the invitation tree or of a profile's invitees.
type Member struct {
	ID       int64
	Username string
	Name     string
	Invited  int // how many members they brought in
}

// Cursor picks one keyset page of members in joining order: the first Limit
// after After, or, when Before is set, the last Limit before Before. Keyset
// pages cost the same however deep a reader goes, unlike OFFSET.
type Cursor struct {
	After  int64
	Before int64
	Limit  int
}

// MemberPage is one page of members in joining order, and whether there are
// members before and after it.
type MemberPage struct {
	Members []Member
	HasPrev bool
	HasNext bool
}

// The members of one page, each with how many they invited. The inner
// SELECT picks the page along users_invited_by_idx (invited_by, then id);
// the join counts the page's invitees along the same index, so a page costs
// one grouped query whatever its size or the size of the tree. The inner
// query is completed with the parent condition and the direction.
const (
	memberPageHead = `SELECT m.id, m.username, m.name, count(c.id)
FROM (SELECT id, username, name FROM users WHERE `
	memberPageAfter  = ` AND id > ? ORDER BY id LIMIT ?) m`
	memberPageBefore = ` AND id < ? ORDER BY id DESC LIMIT ?) m`
	memberPageTail   = `
LEFT JOIN users c ON c.invited_by = m.id
GROUP BY m.id, m.username, m.name
ORDER BY m.id`
)

// Roots returns one page of the members who joined without an invitation:
// the top of the invitation tree.
func (m *Users) Roots(ctx context.Context, c Cursor) (MemberPage, error) {
	p, err := m.memberPage(ctx, `invited_by IS NULL`, nil, c)
	if err != nil {
		return MemberPage{}, fmt.Errorf("models: roots: %w", err)
	}
	return p, nil
}

// Invitees returns one page of the members whom the user brought in.
func (m *Users) Invitees(ctx context.Context, id int64, c Cursor) (MemberPage, error) {
	p, err := m.memberPage(ctx, `invited_by = ?`, []any{id}, c)
	if err != nil {
		return MemberPage{}, fmt.Errorf("models: invitees: %w", err)
	}
	return p, nil
}

// InviteeCount returns how many members the user brought in.
func (m *Users) InviteeCount(ctx context.Context, id int64) (int, error) {
	var n int
	if err := m.db.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE invited_by = ?`, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("models: invitee count: %w", err)
	}
	return n, nil
}

// memberPage reads the page of c among the members matching where (with
// args). It asks for one member more than the page holds, to know whether
// another page follows in the direction it reads.
func (m *Users) memberPage(ctx context.Context, where string, args []any, c Cursor) (MemberPage, error) {
	limit := max(c.Limit, 1)
	q, key := memberPageHead+where+memberPageAfter+memberPageTail, max(c.After, 0)
	backward := c.Before > 0
	if backward {
		q, key = memberPageHead+where+memberPageBefore+memberPageTail, c.Before
	}
	rows, err := m.db.QueryContext(ctx, q, append(args, key, limit+1)...)
	if err != nil {
		return MemberPage{}, err
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var mb Member
		if err := rows.Scan(&mb.ID, &mb.Username, &mb.Name, &mb.Invited); err != nil {
			return MemberPage{}, err
		}
		out = append(out, mb)
	}
	if err := rows.Err(); err != nil {
		return MemberPage{}, err
	}
	p := MemberPage{Members: out}
	extra := len(out) > limit
	if backward {
		// The extra member is the earliest; the one at Before follows.
		if extra {
			p.Members = out[1:]
		}
		p.HasPrev, p.HasNext = extra, true
	} else {
		if extra {
			p.Members = out[:limit]
		}
		p.HasPrev, p.HasNext = c.After > 0, extra
	}
	return p, nil
}

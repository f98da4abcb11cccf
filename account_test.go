package spoke

import "testing"

func TestHasScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scopes []string
		admin  bool
		want   map[string]bool
	}{
		{scopes: []string{"crm.objects.contacts.read"}, want: map[string]bool{
			"crm.objects.contacts.read": true, "crm.objects.contacts.write": false, "crm.objects.tickets.read": false}},
		{scopes: []string{"tickets"}, want: map[string]bool{
			"crm.objects.tickets.read": true, "crm.objects.tickets.write": true, "crm.schemas.tickets.read": false, "crm.objects.deals.read": false}},
		{admin: true, want: map[string]bool{"automation": true, "crm.schemas.deals.write": true}},
	}
	for _, tc := range tests {
		tok := &Token{Scopes: tc.scopes, Admin: tc.admin}
		for s, want := range tc.want {
			if got := tok.HasScope(s); got != want {
				t.Errorf("token %v (admin %v).HasScope(%s) = %v, want %v", tc.scopes, tc.admin, s, got, want)
			}
		}
	}
}

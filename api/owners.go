package api

import (
	"net/http"
	"strconv"

	"github.com/spokehq/spoke"
)

// ownerRoutes serves HubSpot's owners API (read only, as on HubSpot) and
// Spoke's admin API that manages owners, which HubSpot does in its UI.
func (s *Server) ownerRoutes() []route {
	return []route{
		reads("GET /crm/v3/owners", s.listOwners),
		reads("GET /crm/v3/owners/{ownerId}", s.getOwner),
		writes("POST /spoke/v1/owners", s.createOwner),
		writes("PATCH /spoke/v1/owners/{ownerId}", s.updateOwner),
		writes("DELETE /spoke/v1/owners/{ownerId}", s.archiveOwner),
		reads("GET /spoke/v1/teams", s.listTeams),
	}
}

type teamWire struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Primary bool   `json:"primary"`
}

// ownerWire is HubSpot's PublicOwner.
type ownerWire struct {
	ID        string `json:"id"`
	Email     string `json:"email,omitempty"`
	Type      string `json:"type"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	// UserID is absent once the owner is archived (its user is
	// inactive); UserIDIncludingInactive stays.
	UserID                  *int64     `json:"userId,omitempty"`
	UserIDIncludingInactive int64      `json:"userIdIncludingInactive"`
	CreatedAt               string     `json:"createdAt"`
	UpdatedAt               string     `json:"updatedAt"`
	Archived                bool       `json:"archived"`
	Teams                   []teamWire `json:"teams,omitempty"`
}

func ownerToWire(o *spoke.Owner) ownerWire {
	w := ownerWire{ID: strconv.FormatInt(o.ID, 10), Email: o.Email, Type: "PERSON", FirstName: o.FirstName, LastName: o.LastName,
		UserIDIncludingInactive: o.UserID, CreatedAt: spoke.FormatTime(o.CreatedAt), UpdatedAt: spoke.FormatTime(o.UpdatedAt), Archived: o.Archived}
	if !o.Archived {
		id := o.UserID
		w.UserID = &id
	}
	for _, t := range o.Teams {
		w.Teams = append(w.Teams, teamWire{ID: strconv.FormatInt(t.ID, 10), Name: t.Name, Primary: t.Primary})
	}
	return w
}

// ownerIDParam parses the path's owner id; an id that is not a number
// names no owner.
func ownerIDParam(r *http.Request) (int64, error) {
	s := r.PathValue("ownerId")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
			Message: "Owner " + s + " was not found; owner ids are numeric.", Context: map[string][]string{"ownerId": {s}}}
	}
	return id, nil
}

func (s *Server) listOwners(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, spoke.ScopeOwnersRead); err != nil {
		return err
	}
	limit, archived, after, err := listQuery(r, 100, 500)
	if err != nil {
		return err
	}
	owners, more, err := s.Owners.ListOwners(r.Context(), account(r), spoke.OwnerListOptions{Limit: limit, After: after, Email: r.URL.Query().Get("email"), Archived: archived})
	if err != nil {
		return err
	}
	type paging struct {
		Next map[string]string `json:"next"`
	}
	out := struct {
		Results []ownerWire `json:"results"`
		Paging  *paging     `json:"paging,omitempty"`
	}{Results: make([]ownerWire, 0, len(owners))}
	for _, o := range owners {
		out.Results = append(out.Results, ownerToWire(o))
	}
	if more {
		next := strconv.FormatInt(owners[len(owners)-1].ID, 10)
		q := r.URL.Query()
		q.Set("after", next)
		out.Paging = &paging{Next: map[string]string{"after": next, "link": r.URL.Path + "?" + q.Encode()}}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getOwner(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, spoke.ScopeOwnersRead); err != nil {
		return err
	}
	id, err := ownerIDParam(r)
	if err != nil {
		return err
	}
	byUserID := false
	switch p := r.URL.Query().Get("idProperty"); p {
	case "", "id":
	case "userId":
		byUserID = true
	default:
		return spoke.Invalidf("Query parameter idProperty must be id or userId, got %q.", p)
	}
	archived, err := boolParam(r, "archived")
	if err != nil {
		return err
	}
	o, err := s.Owners.GetOwner(r.Context(), account(r), id, byUserID, archived)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ownerToWire(o))
	return nil
}

// ownerInput is the body of the admin API's owner create and update.
type ownerInput struct {
	Email     *string   `json:"email"`
	FirstName *string   `json:"firstName"`
	LastName  *string   `json:"lastName"`
	Teams     *[]string `json:"teams"`
}

func (in ownerInput) domain() spoke.OwnerInput {
	return spoke.OwnerInput{Email: in.Email, FirstName: in.FirstName, LastName: in.LastName, Teams: in.Teams}
}

func (s *Server) createOwner(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, spoke.ScopeOwnersWrite); err != nil {
		return err
	}
	var in ownerInput
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := s.Owners.CreateOwner(r.Context(), account(r), in.domain())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ownerToWire(o))
	return nil
}

func (s *Server) updateOwner(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, spoke.ScopeOwnersWrite); err != nil {
		return err
	}
	id, err := ownerIDParam(r)
	if err != nil {
		return err
	}
	var in ownerInput
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := s.Owners.UpdateOwner(r.Context(), account(r), id, in.domain())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ownerToWire(o))
	return nil
}

func (s *Server) archiveOwner(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, spoke.ScopeOwnersWrite); err != nil {
		return err
	}
	id, err := ownerIDParam(r)
	if err != nil {
		return err
	}
	if err := s.Owners.ArchiveOwner(r.Context(), account(r), id); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, spoke.ScopeOwnersRead); err != nil {
		return err
	}
	teams, err := s.Owners.ListTeams(r.Context(), account(r))
	if err != nil {
		return err
	}
	type team struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	out := struct {
		Results []team `json:"results"`
	}{Results: make([]team, 0, len(teams))}
	for _, t := range teams {
		out.Results = append(out.Results, team{ID: strconv.FormatInt(t.ID, 10), Name: t.Name})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

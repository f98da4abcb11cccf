package api

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
)

// listRoutes serves CRM lists v3: lists, their filters and memberships.
func (s *Server) listRoutes() []route {
	const p = "/crm/v3/lists"
	return []route{
		writes("POST "+p, s.createList),
		reads("GET "+p, s.getLists),
		reads("POST "+p+"/search", s.searchLists),
		reads("GET "+p+"/object-type-id/{objectTypeId}/name/{listName}", s.getListByName),
		reads("GET "+p+"/records/{objectTypeId}/{recordId}/memberships", s.recordLists),
		reads("GET "+p+"/{listId}", s.getList),
		writes("DELETE "+p+"/{listId}", s.deleteList),
		writes("PUT "+p+"/{listId}/restore", s.restoreList),
		writes("PUT "+p+"/{listId}/update-list-name", s.renameList),
		writes("PUT "+p+"/{listId}/update-list-filters", s.updateListFilters),
		reads("GET "+p+"/{listId}/memberships", s.listMemberships),
		writes("DELETE "+p+"/{listId}/memberships", s.removeAllMembers),
		writes("PUT "+p+"/{listId}/memberships/add", s.addMembers),
		writes("PUT "+p+"/{listId}/memberships/remove", s.removeMembers),
		writes("PUT "+p+"/{listId}/memberships/add-and-remove", s.addAndRemoveMembers),
	}
}

// listWire is PublicObjectList.
type listWire struct {
	ListID           string          `json:"listId"`
	ListVersion      int             `json:"listVersion"`
	Name             string          `json:"name"`
	ObjectTypeID     string          `json:"objectTypeId"`
	ProcessingType   string          `json:"processingType"`
	ProcessingStatus string          `json:"processingStatus"`
	Size             int             `json:"size"`
	CreatedAt        string          `json:"createdAt"`
	UpdatedAt        string          `json:"updatedAt"`
	FiltersUpdatedAt string          `json:"filtersUpdatedAt,omitempty"`
	DeletedAt        string          `json:"deletedAt,omitempty"`
	FilterBranch     json.RawMessage `json:"filterBranch,omitempty"`
	// AdditionalProperties appears in search results.
	AdditionalProperties map[string]string `json:"additionalProperties,omitempty"`
}

func listToWire(l *spoke.List, filters bool) listWire {
	w := listWire{ListID: l.ID, ListVersion: l.Version, Name: l.Name, ObjectTypeID: l.ObjectTypeID, ProcessingType: l.ProcessingType,
		ProcessingStatus: "COMPLETE", Size: l.Size, CreatedAt: spoke.FormatTime(l.CreatedAt), UpdatedAt: spoke.FormatTime(l.UpdatedAt)}
	if !l.FiltersUpdatedAt.IsZero() {
		w.FiltersUpdatedAt = spoke.FormatTime(l.FiltersUpdatedAt)
	}
	if !l.DeletedAt.IsZero() {
		w.DeletedAt = spoke.FormatTime(l.DeletedAt)
	}
	if filters {
		w.FilterBranch = l.FilterRaw
	}
	return w
}

func listsRead(r *http.Request) error  { return require(r, spoke.ScopeListsRead, spoke.ScopeListsWrite) }
func listsWrite(r *http.Request) error { return require(r, spoke.ScopeListsWrite) }

func includeFilters(r *http.Request) bool { return r.URL.Query().Get("includeFilters") == "true" }

// decodeFilterBranch reads a filterBranch, keeping it as sent.
func decodeFilterBranch(raw json.RawMessage) (*spoke.FilterBranch, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var b spoke.FilterBranch
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, spoke.Invalidf("Invalid filterBranch: %v", err)
	}
	return &b, nil
}

func (s *Server) createList(w http.ResponseWriter, r *http.Request) error {
	if err := listsWrite(r); err != nil {
		return err
	}
	var body struct {
		Name           string          `json:"name"`
		ObjectTypeID   string          `json:"objectTypeId"`
		ProcessingType string          `json:"processingType"`
		FilterBranch   json.RawMessage `json:"filterBranch"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.ObjectTypeID == "" {
		return spoke.Invalidf("objectTypeId is required (0-1 contacts, 0-2 companies, ...).")
	}
	fb, err := decodeFilterBranch(body.FilterBranch)
	if err != nil {
		return err
	}
	raw := body.FilterBranch
	if fb == nil {
		raw = nil
	}
	l, err := s.Lists.CreateList(r.Context(), account(r), &spoke.List{Name: body.Name, ObjectTypeID: body.ObjectTypeID,
		ProcessingType: strings.ToUpper(body.ProcessingType), FilterBranch: fb, FilterRaw: raw})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"list": listToWire(l, true)})
	return nil
}

func (s *Server) getList(w http.ResponseWriter, r *http.Request) error {
	if err := listsRead(r); err != nil {
		return err
	}
	l, err := s.Lists.GetList(r.Context(), account(r), r.PathValue("listId"), r.URL.Query().Get("includeDeleted") == "true")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"list": listToWire(l, includeFilters(r))})
	return nil
}

func (s *Server) getLists(w http.ResponseWriter, r *http.Request) error {
	if err := listsRead(r); err != nil {
		return err
	}
	ids := r.URL.Query()["listIds"]
	for _, id := range ids {
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return spoke.Invalidf("listIds must be list ids, got %q.", id)
		}
	}
	lists, err := s.Lists.Lists(r.Context(), account(r), ids)
	if err != nil {
		return err
	}
	out := make([]listWire, 0, len(lists))
	for _, l := range lists {
		out = append(out, listToWire(l, includeFilters(r)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"lists": out})
	return nil
}

func (s *Server) getListByName(w http.ResponseWriter, r *http.Request) error {
	if err := listsRead(r); err != nil {
		return err
	}
	l, err := s.Lists.GetListByName(r.Context(), account(r), r.PathValue("objectTypeId"), r.PathValue("listName"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"list": listToWire(l, includeFilters(r))})
	return nil
}

// searchLists is POST /crm/v3/lists/search: lists whose name contains
// query, of the processing types asked, paged by offset and count.
func (s *Server) searchLists(w http.ResponseWriter, r *http.Request) error {
	if err := listsRead(r); err != nil {
		return err
	}
	var body struct {
		Query           string   `json:"query"`
		ListIDs         []string `json:"listIds"`
		ProcessingTypes []string `json:"processingTypes"`
		Offset          int      `json:"offset"`
		Count           int      `json:"count"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Count <= 0 {
		body.Count = 20
	}
	if body.Count > 500 || body.Offset < 0 {
		return spoke.Invalidf("count must be at most 500 and offset not negative.")
	}
	lists, err := s.Lists.Lists(r.Context(), account(r), body.ListIDs)
	if err != nil {
		return err
	}
	var found []listWire
	for _, l := range lists {
		if body.Query != "" && !strings.Contains(strings.ToLower(l.Name), strings.ToLower(body.Query)) {
			continue
		}
		if len(body.ProcessingTypes) > 0 && !containsFold(body.ProcessingTypes, l.ProcessingType) {
			continue
		}
		lw := listToWire(l, false)
		lw.AdditionalProperties = map[string]string{"hs_list_size": strconv.Itoa(l.Size)}
		found = append(found, lw)
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].UpdatedAt > found[j].UpdatedAt })
	total := len(found)
	page := []listWire{}
	if body.Offset < total {
		page = found[body.Offset:min(total, body.Offset+body.Count)]
	}
	writeJSON(w, http.StatusOK, map[string]any{"lists": page, "total": total, "offset": body.Offset + len(page), "hasMore": body.Offset+len(page) < total})
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (s *Server) deleteList(w http.ResponseWriter, r *http.Request) error {
	if err := listsWrite(r); err != nil {
		return err
	}
	if err := s.Lists.DeleteList(r.Context(), account(r), r.PathValue("listId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) restoreList(w http.ResponseWriter, r *http.Request) error {
	if err := listsWrite(r); err != nil {
		return err
	}
	if err := s.Lists.RestoreList(r.Context(), account(r), r.PathValue("listId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) renameList(w http.ResponseWriter, r *http.Request) error {
	if err := listsWrite(r); err != nil {
		return err
	}
	l, err := s.Lists.RenameList(r.Context(), account(r), r.PathValue("listId"), r.URL.Query().Get("listName"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"updatedList": listToWire(l, includeFilters(r))})
	return nil
}

func (s *Server) updateListFilters(w http.ResponseWriter, r *http.Request) error {
	if err := listsWrite(r); err != nil {
		return err
	}
	var body struct {
		FilterBranch json.RawMessage `json:"filterBranch"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	fb, err := decodeFilterBranch(body.FilterBranch)
	if err != nil {
		return err
	}
	l, err := s.Lists.SetListFilters(r.Context(), account(r), r.PathValue("listId"), fb, body.FilterBranch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"updatedList": listToWire(l, true)})
	return nil
}

// recordIDs parses record ids sent as strings or numbers.
func recordIDs(raw []json.RawMessage) ([]int64, error) {
	out := make([]int64, 0, len(raw))
	for _, v := range raw {
		s := strings.Trim(string(v), `"`)
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, spoke.Invalidf("Record ids must be positive integers, got %s.", string(v))
		}
		out = append(out, id)
	}
	return out, nil
}

func idStrings(ids []int64) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, strconv.FormatInt(id, 10))
	}
	return out
}

// membershipResponse is MembershipsUpdateResponse (HubSpot spells one key
// recordsIdsAdded).
func membershipResponse(add, remove *spoke.MembershipChange) map[string][]string {
	out := map[string][]string{"recordsIdsAdded": {}, "recordIdsRemoved": {}, "recordIdsMissing": {}}
	for _, ch := range []*spoke.MembershipChange{add, remove} {
		if ch == nil {
			continue
		}
		out["recordsIdsAdded"] = append(out["recordsIdsAdded"], idStrings(ch.Added)...)
		out["recordIdsRemoved"] = append(out["recordIdsRemoved"], idStrings(ch.Removed)...)
		out["recordIdsMissing"] = append(out["recordIdsMissing"], idStrings(ch.Missing)...)
	}
	return out
}

func (s *Server) changeMembers(w http.ResponseWriter, r *http.Request, add bool) error {
	if err := listsWrite(r); err != nil {
		return err
	}
	var raw []json.RawMessage
	if err := decode(r, &raw); err != nil {
		return err
	}
	ids, err := recordIDs(raw)
	if err != nil {
		return err
	}
	var ch *spoke.MembershipChange
	if add {
		ch, err = s.Lists.AddListMembers(r.Context(), account(r), r.PathValue("listId"), ids)
	} else {
		ch, err = s.Lists.RemoveListMembers(r.Context(), account(r), r.PathValue("listId"), ids)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, membershipResponse(ch, nil))
	return nil
}

func (s *Server) addMembers(w http.ResponseWriter, r *http.Request) error {
	return s.changeMembers(w, r, true)
}

func (s *Server) removeMembers(w http.ResponseWriter, r *http.Request) error {
	return s.changeMembers(w, r, false)
}

func (s *Server) addAndRemoveMembers(w http.ResponseWriter, r *http.Request) error {
	if err := listsWrite(r); err != nil {
		return err
	}
	var body struct {
		RecordIDsToAdd    []json.RawMessage `json:"recordIdsToAdd"`
		RecordIDsToRemove []json.RawMessage `json:"recordIdsToRemove"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	add, err := recordIDs(body.RecordIDsToAdd)
	if err != nil {
		return err
	}
	remove, err := recordIDs(body.RecordIDsToRemove)
	if err != nil {
		return err
	}
	ctx, acct, id := r.Context(), account(r), r.PathValue("listId")
	removed, err := s.Lists.RemoveListMembers(ctx, acct, id, remove)
	if err != nil {
		return err
	}
	added, err := s.Lists.AddListMembers(ctx, acct, id, add)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, membershipResponse(added, removed))
	return nil
}

func (s *Server) removeAllMembers(w http.ResponseWriter, r *http.Request) error {
	if err := listsWrite(r); err != nil {
		return err
	}
	ctx, acct, id := r.Context(), account(r), r.PathValue("listId")
	for {
		page, _, err := s.Lists.ListMembers(ctx, acct, id, 0, 1000)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		ids := make([]int64, 0, len(page))
		for _, m := range page {
			ids = append(ids, m.RecordID)
		}
		if _, err := s.Lists.RemoveListMembers(ctx, acct, id, ids); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listMemberships(w http.ResponseWriter, r *http.Request) error {
	if err := listsRead(r); err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 100, 1, 250)
	if err != nil {
		return err
	}
	after, err := afterParam(r)
	if err != nil {
		return err
	}
	members, more, err := s.Lists.ListMembers(r.Context(), account(r), r.PathValue("listId"), after, limit)
	if err != nil {
		return err
	}
	type joined struct {
		RecordID            string `json:"recordId"`
		MembershipTimestamp string `json:"membershipTimestamp"`
	}
	results := make([]joined, 0, len(members))
	for _, m := range members {
		results = append(results, joined{RecordID: strconv.FormatInt(m.RecordID, 10), MembershipTimestamp: spoke.FormatTime(m.AddedAt)})
	}
	out := map[string]any{"results": results}
	if more {
		next := strconv.FormatInt(members[len(members)-1].RecordID, 10)
		out["paging"] = map[string]any{"next": map[string]string{"after": next}}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) recordLists(w http.ResponseWriter, r *http.Request) error {
	if err := listsRead(r); err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("recordId"), 10, 64)
	if err != nil {
		return spoke.NotFoundf("No record with id %q.", r.PathValue("recordId"))
	}
	ms, err := s.Lists.RecordLists(r.Context(), account(r), r.PathValue("objectTypeId"), id)
	if err != nil {
		return err
	}
	type membership struct {
		ListID              string `json:"listId"`
		ListVersion         int    `json:"listVersion"`
		FirstAddedTimestamp string `json:"firstAddedTimestamp"`
		LastAddedTimestamp  string `json:"lastAddedTimestamp"`
	}
	results := make([]membership, 0, len(ms))
	for _, m := range ms {
		results = append(results, membership{ListID: m.ListID, ListVersion: m.ListVersion,
			FirstAddedTimestamp: spoke.FormatTime(m.FirstAddedAt), LastAddedTimestamp: spoke.FormatTime(m.LastAddedAt)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "total": len(results)})
	return nil
}

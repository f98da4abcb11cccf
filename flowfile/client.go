package flowfile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to a Spoke (or HubSpot-compatible) server's flows and
// properties APIs with a bearer token.
type Client struct {
	// URL is the server's base URL, such as http://127.0.0.1:8080.
	URL   string
	Token string
	HTTP  *http.Client
}

// APIError is an error answer of the server.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message) }

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	e, ok := err.(*APIError)
	return ok && e.Status == http.StatusNotFound
}

// Target is the key of the client's server in sync records.
func (c *Client) Target() string { return strings.TrimRight(c.URL, "/") }

func (c *Client) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Target()+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var env struct {
			Message string `json:"message"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &env) == nil && env.Message != "" {
			msg = env.Message
		}
		return &APIError{Status: resp.StatusCode, Message: msg}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
	}
	return nil
}

// FlowSummary is a flow in the list of flows.
type FlowSummary struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	RevisionID string `json:"revisionId"`
}

// ListFlows returns every flow on the server.
func (c *Client) ListFlows(ctx context.Context) ([]FlowSummary, error) {
	var out []FlowSummary
	after := ""
	for {
		var page struct {
			Results []FlowSummary `json:"results"`
			Paging  *struct {
				Next *struct {
					After string `json:"after"`
				} `json:"next"`
			} `json:"paging"`
		}
		path := "/automation/v4/flows?limit=100"
		if after != "" {
			path += "&after=" + url.QueryEscape(after)
		}
		if err := c.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, fmt.Errorf("list flows: %w", err)
		}
		out = append(out, page.Results...)
		if page.Paging == nil || page.Paging.Next == nil || page.Paging.Next.After == "" {
			return out, nil
		}
		after = page.Paging.Next.After
	}
}

// GetFlow returns a flow's current document.
func (c *Client) GetFlow(ctx context.Context, id string) (map[string]any, error) {
	var doc map[string]any
	if err := c.do(ctx, http.MethodGet, "/automation/v4/flows/"+url.PathEscape(id), nil, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// CreateFlow creates a flow and returns the stored document.
func (c *Client) CreateFlow(ctx context.Context, doc map[string]any) (map[string]any, error) {
	var out map[string]any
	if err := c.do(ctx, http.MethodPost, "/automation/v4/flows", doc, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateFlow replaces a flow whose current revision is revisionID.
func (c *Client) UpdateFlow(ctx context.Context, id, revisionID string, doc map[string]any) (map[string]any, error) {
	body := cloneJSON(doc).(map[string]any)
	body["revisionId"] = revisionID
	var out map[string]any
	if err := c.do(ctx, http.MethodPut, "/automation/v4/flows/"+url.PathEscape(id), body, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// remoteProperty is a property as the properties API returns it.
type remoteProperty struct {
	Property
	HubspotDefined bool `json:"hubspotDefined"`
}

// GetProperty returns a property definition.
func (c *Client) GetProperty(ctx context.Context, objectType, name string) (*remoteProperty, error) {
	var p remoteProperty
	if err := c.do(ctx, http.MethodGet, "/crm/v3/properties/"+url.PathEscape(objectType)+"/"+url.PathEscape(name), nil, &p); err != nil {
		return nil, err
	}
	p.ObjectType = objectType
	return &p, nil
}

func propertyBody(p Property) map[string]any {
	body := map[string]any{"name": p.Name, "label": p.Label, "type": p.Type, "fieldType": p.FieldType, "groupName": p.GroupName}
	if p.Description != "" {
		body["description"] = p.Description
	}
	if len(p.Options) > 0 {
		body["options"] = p.Options
	}
	return body
}

// CreateProperty creates a custom property.
func (c *Client) CreateProperty(ctx context.Context, p Property) error {
	return c.do(ctx, http.MethodPost, "/crm/v3/properties/"+url.PathEscape(p.ObjectType), propertyBody(p), nil)
}

// UpdateProperty updates a custom property's definition.
func (c *Client) UpdateProperty(ctx context.Context, p Property) error {
	body := propertyBody(p)
	delete(body, "name")
	return c.do(ctx, http.MethodPatch, "/crm/v3/properties/"+url.PathEscape(p.ObjectType)+"/"+url.PathEscape(p.Name), body, nil)
}

// Package spoke holds Spoke's domain: CRM records, properties, associations,
// accounts and tokens, and the service interfaces that the store adapters
// (package sqlite) implement and the HTTP layer (package api) consumes.
//
// The package depends on nothing but the standard library, so every adapter
// can import it without importing each other.
package spoke

package engine_test

import (
	"os"
	"testing"

	"github.com/spokehq/spoke/internal/pgtest"
)

// TestMain stops the PostgreSQL server the integration tests start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

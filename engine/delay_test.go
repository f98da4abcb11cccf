package engine

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

// A delay too long for time.Duration waits (practically) forever instead
// of overflowing into a negative wait that runs at once.
func TestHugeDelayDoesNotOverflow(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		delta, unit string
		min         time.Duration
	}{
		{`"90"`, `"MINUTES"`, 90 * time.Minute},
		{`"1000000"`, `"WEEKS"`, 100 * 365 * 24 * time.Hour},
		{`9223372036854775807`, `"SECONDS"`, 100 * 365 * 24 * time.Hour},
		{`"1e300"`, `"DAYS"`, 100 * 365 * 24 * time.Hour},
	} {
		act := &spoke.Action{Fields: map[string]json.RawMessage{"delta": json.RawMessage(c.delta), "time_unit": json.RawMessage(c.unit)}}
		d, err := delayOf(act)
		if err != nil || d < c.min {
			t.Errorf("delay %s %s = %v, %v; want at least %v", c.delta, c.unit, d, err, c.min)
		}
		if now := time.Now(); !now.Add(d).After(now) {
			t.Errorf("delay %s %s ends before it starts", c.delta, c.unit)
		}
	}
}

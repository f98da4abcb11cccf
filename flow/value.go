package flow

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// relativeDelay reads a RELATIVE_DATETIME value's timeDelay ({"delta": n,
// "timeUnit": "DAYS"}) as a duration.
func relativeDelay(raw json.RawMessage) (time.Duration, error) {
	var d struct {
		Delta    json.RawMessage `json:"delta"`
		TimeUnit string          `json:"timeUnit"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &d) != nil {
		return 0, fmt.Errorf("needs a timeDelay object")
	}
	n, err := scalarNumber(d.Delta)
	if err != nil {
		return 0, fmt.Errorf("needs a numeric timeDelay.delta")
	}
	units := map[string]time.Duration{"MILLISECONDS": time.Millisecond, "SECONDS": time.Second, "MINUTES": time.Minute,
		"HOURS": time.Hour, "DAYS": 24 * time.Hour, "WEEKS": 7 * 24 * time.Hour}
	u, ok := units[strings.ToUpper(d.TimeUnit)]
	if !ok {
		return 0, fmt.Errorf("timeDelay.timeUnit must be one of MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS, WEEKS")
	}
	return time.Duration(n * float64(u)), nil
}

// RelativeDelay is relativeDelay for the engine.
func RelativeDelay(raw json.RawMessage) (time.Duration, error) { return relativeDelay(raw) }

// Percentage reads an AB test branch's percentage (a JSON number or a
// numeric string); a malformed one is 0.
func Percentage(raw json.RawMessage) float64 {
	p, err := scalarNumber(raw)
	if err != nil || p < 0 {
		return 0
	}
	return p
}

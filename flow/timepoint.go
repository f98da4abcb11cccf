package flow

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// timePoint is HubSpot's PublicDatePoint, PublicIndexedTimePoint or
// PublicPropertyReferencedTime, told apart by timeType.
type timePoint struct {
	TimeType    string `json:"timeType"` // DATE, INDEXED, PROPERTY_REFERENCED
	ZoneID      string `json:"zoneId"`
	Year        *int   `json:"year"`
	Month       *int   `json:"month"`
	Day         *int   `json:"day"`
	Hour        *int   `json:"hour"`
	Minute      *int   `json:"minute"`
	Second      *int   `json:"second"`
	Millisecond *int   `json:"millisecond"`
	// INDEXED: a reference (NOW, TODAY, WEEK, MONTH, QUARTER, YEAR,
	// FISCAL_QUARTER, FISCAL_YEAR) moved by an offset.
	IndexReference *struct {
		ReferenceType string `json:"referenceType"`
		DayOfWeek     string `json:"dayOfWeek"`
		Month         *int   `json:"month"`
		Day           *int   `json:"day"`
		Hour          *int   `json:"hour"`
		Minute        *int   `json:"minute"`
		Second        *int   `json:"second"`
		Millisecond   *int   `json:"millisecond"`
	} `json:"indexReference"`
	Offset *struct {
		Years, Quarters, Months, Weeks, Days, Hours, Minutes, Seconds, Milliseconds int
	} `json:"offset"`
	// PROPERTY_REFERENCED: another property of the record.
	Property string `json:"property"`
}

func intOr(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

func (env Env) zone(id string) (*time.Location, error) {
	if id == "" || id == "UTC" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(id)
	if err != nil {
		return nil, fmt.Errorf("zoneId %s is not a known time zone", strconv.Quote(id))
	}
	return loc, nil
}

var weekdays = map[string]time.Weekday{"SUNDAY": time.Sunday, "MONDAY": time.Monday, "TUESDAY": time.Tuesday,
	"WEDNESDAY": time.Wednesday, "THURSDAY": time.Thursday, "FRIDAY": time.Friday, "SATURDAY": time.Saturday}

// resolve returns the instant a time point names, and false when it names
// a property that is not set.
func (env Env) resolve(raw json.RawMessage) (time.Time, bool, error) {
	var p timePoint
	if len(raw) == 0 || json.Unmarshal(raw, &p) != nil {
		return time.Time{}, false, fmt.Errorf("needs a timePoint object")
	}
	loc, err := env.zone(p.ZoneID)
	if err != nil {
		return time.Time{}, false, err
	}
	switch p.TimeType {
	case "DATE":
		if p.Year == nil || p.Month == nil || p.Day == nil {
			return time.Time{}, false, fmt.Errorf("a DATE time point needs year, month and day")
		}
		return time.Date(*p.Year, time.Month(*p.Month), *p.Day, intOr(p.Hour, 0), intOr(p.Minute, 0), intOr(p.Second, 0),
			intOr(p.Millisecond, 0)*int(time.Millisecond), loc), true, nil
	case "PROPERTY_REFERENCED":
		if p.Property == "" {
			return time.Time{}, false, fmt.Errorf("a PROPERTY_REFERENCED time point needs a property")
		}
		v, ok := env.Get(p.Property)
		if !ok || v == "" {
			return time.Time{}, false, nil
		}
		t, ok := spoke.ParseTime(v)
		return t, ok, nil
	case "INDEXED":
		ref := p.IndexReference
		if ref == nil {
			return time.Time{}, false, fmt.Errorf("an INDEXED time point needs an indexReference")
		}
		now := env.Now.In(loc)
		y, m, d := now.Date()
		var t time.Time
		switch ref.ReferenceType {
		case "NOW":
			t = now
		case "TODAY":
			t = time.Date(y, m, d, 0, 0, 0, 0, loc)
		case "WEEK":
			want, ok := weekdays[strings.ToUpper(ref.DayOfWeek)]
			if !ok {
				want = time.Monday
			}
			monday := time.Date(y, m, d, 0, 0, 0, 0, loc).AddDate(0, 0, -((int(now.Weekday()) + 6) % 7))
			t = monday.AddDate(0, 0, (int(want)+6)%7)
		case "MONTH":
			t = time.Date(y, m, intOr(ref.Day, 1), 0, 0, 0, 0, loc)
		case "QUARTER", "FISCAL_QUARTER":
			first := time.Month((int(m)-1)/3*3 + 1)
			t = time.Date(y, first+time.Month(intOr(ref.Month, 1)-1), intOr(ref.Day, 1), 0, 0, 0, 0, loc)
		case "YEAR", "FISCAL_YEAR":
			t = time.Date(y, time.Month(intOr(ref.Month, 1)), intOr(ref.Day, 1), 0, 0, 0, 0, loc)
		default:
			return time.Time{}, false, fmt.Errorf("indexReference.referenceType %s is not one of NOW, TODAY, WEEK, MONTH, QUARTER, YEAR, FISCAL_QUARTER, FISCAL_YEAR", strconv.Quote(ref.ReferenceType))
		}
		if ref.ReferenceType != "NOW" || ref.Hour != nil {
			ty, tm, td := t.Date()
			t = time.Date(ty, tm, td, intOr(ref.Hour, t.Hour()), intOr(ref.Minute, t.Minute()), intOr(ref.Second, t.Second()),
				intOr(ref.Millisecond, 0)*int(time.Millisecond), loc)
		}
		if o := p.Offset; o != nil {
			t = t.AddDate(o.Years, o.Months+3*o.Quarters, o.Days+7*o.Weeks).
				Add(time.Duration(o.Hours)*time.Hour + time.Duration(o.Minutes)*time.Minute +
					time.Duration(o.Seconds)*time.Second + time.Duration(o.Milliseconds)*time.Millisecond)
		}
		return t, true, nil
	}
	return time.Time{}, false, fmt.Errorf("timeType %s is not one of DATE, INDEXED, PROPERTY_REFERENCED", strconv.Quote(p.TimeType))
}

// after reports have > t, or have >= t when inclusive.
func after(have, t time.Time, behavior string) bool {
	if behavior == "INCLUSIVE" {
		return !have.Before(t)
	}
	return have.After(t)
}

func before(have, t time.Time, behavior string) bool {
	if behavior == "INCLUSIVE" {
		return !have.After(t)
	}
	return have.Before(t)
}

var monthNames = map[string]int{"JANUARY": 1, "FEBRUARY": 2, "MARCH": 3, "APRIL": 4, "MAY": 5, "JUNE": 6, "JULY": 7,
	"AUGUST": 8, "SEPTEMBER": 9, "OCTOBER": 10, "NOVEMBER": 11, "DECEMBER": 12}

// monthOf reads a month given as a number (1-12) or an upper-case name.
func monthOf(raw json.RawMessage) (time.Month, error) {
	s, err := scalarString(raw)
	if err != nil {
		return 0, fmt.Errorf("needs a month")
	}
	if n, ok := monthNames[strings.ToUpper(s)]; ok {
		return time.Month(n), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 12 {
		return 0, fmt.Errorf("month %s is not a month", strconv.Quote(s))
	}
	return time.Month(n), nil
}

// unitStart returns the start of the calendar unit (DAY, WEEK, MONTH,
// QUARTER, YEAR) containing t, and adds n such units to a start.
func unitStart(unit string, t time.Time) (time.Time, func(time.Time, int) time.Time, error) {
	y, m, d := t.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	switch unit {
	case "DAY":
		return day, func(s time.Time, n int) time.Time { return s.AddDate(0, 0, n) }, nil
	case "WEEK":
		return day.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7)), func(s time.Time, n int) time.Time { return s.AddDate(0, 0, 7*n) }, nil
	case "MONTH":
		return time.Date(y, m, 1, 0, 0, 0, 0, t.Location()), func(s time.Time, n int) time.Time { return s.AddDate(0, n, 0) }, nil
	case "QUARTER":
		return time.Date(y, time.Month((int(m)-1)/3*3+1), 1, 0, 0, 0, 0, t.Location()), func(s time.Time, n int) time.Time { return s.AddDate(0, 3*n, 0) }, nil
	case "YEAR":
		return time.Date(y, 1, 1, 0, 0, 0, 0, t.Location()), func(s time.Time, n int) time.Time { return s.AddDate(n, 0, 0) }, nil
	}
	return time.Time{}, nil, fmt.Errorf("timeUnit %s is not one of DAY, WEEK, MONTH, QUARTER, YEAR", strconv.Quote(unit))
}

// timeTest returns the test a date or time operation applies to a
// property's time, or what is wrong with the operation.
func (env Env) timeTest(op *spoke.Operation) (func(time.Time) bool, error) {
	never := func(time.Time) bool { return false }
	switch op.OperationType {
	case "TIME_POINT":
		var t time.Time
		set := true
		if len(op.TimePoint) > 0 {
			var err error
			if t, set, err = env.resolve(op.TimePoint); err != nil {
				return nil, fmt.Errorf("%s: timePoint %v", op.Operator, err)
			}
		} else {
			var err error
			if t, err = scalarTime(op.Value); err != nil {
				return nil, fmt.Errorf("%s needs a timePoint (or a timestamp value in epoch milliseconds)", op.Operator)
			}
		}
		if !set {
			return never, nil
		}
		if op.Operator == "IS_AFTER" {
			return func(h time.Time) bool { return after(h, t, op.EndpointBehavior) }, nil
		}
		return func(h time.Time) bool { return before(h, t, op.EndpointBehavior) }, nil
	case "TIME_RANGED":
		lo, okLo, err := env.resolve(op.LowerBoundTimePoint)
		if err != nil {
			return nil, fmt.Errorf("%s: lowerBoundTimePoint %v", op.Operator, err)
		}
		hi, okHi, err := env.resolve(op.UpperBoundTimePoint)
		if err != nil {
			return nil, fmt.Errorf("%s: upperBoundTimePoint %v", op.Operator, err)
		}
		if !okLo || !okHi {
			return never, nil
		}
		lb, ub := op.LowerBoundEndpointBehavior, op.UpperBoundEndpointBehavior
		if lb == "" {
			lb = "INCLUSIVE"
		}
		if ub == "" {
			ub = "INCLUSIVE"
		}
		in := func(h time.Time) bool { return after(h, lo, lb) && before(h, hi, ub) }
		if op.Operator == "IS_NOT_BETWEEN" {
			return func(h time.Time) bool { return !in(h) }, nil
		}
		return in, nil
	case "DATETIME":
		t, err := scalarTime(op.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("%s needs a timestamp in epoch milliseconds", op.Operator)
		}
		switch op.Operator {
		case "IS_BEFORE":
			return func(h time.Time) bool { return h.Before(t) }, nil
		case "IS_AFTER":
			return func(h time.Time) bool { return h.After(t) }, nil
		}
		day := t.UTC().Truncate(24 * time.Hour)
		return func(h time.Time) bool { return h.UTC().Truncate(24 * time.Hour).Equal(day) }, nil
	case "DATE":
		y, err1 := scalarNumber(op.Year)
		m, err2 := monthOf(op.Month)
		d, err3 := scalarNumber(op.Day)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("%s needs year, month and day", op.Operator)
		}
		start := time.Date(int(y), m, int(d), 0, 0, 0, 0, time.UTC)
		end := start.AddDate(0, 0, 1)
		switch op.Operator {
		case "IS_BEFORE":
			return func(h time.Time) bool { return h.Before(start) }, nil
		case "IS_AFTER":
			return func(h time.Time) bool { return !h.Before(end) }, nil
		}
		return func(h time.Time) bool { return !h.Before(start) && h.Before(end) }, nil
	case "RANGED_DATE":
		lo, err1 := scalarTime(op.LowerBound)
		hi, err2 := scalarTime(op.UpperBound)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s needs lowerBound and upperBound in epoch milliseconds", op.Operator)
		}
		in := func(h time.Time) bool { return !h.Before(lo) && !h.After(hi) }
		if op.Operator == "IS_NOT_BETWEEN" {
			return func(h time.Time) bool { return !in(h) }, nil
		}
		return in, nil
	case "ROLLING_DATE_RANGE":
		n, err := scalarNumber(op.NumberOfDays)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s needs numberOfDays", op.Operator)
		}
		now := env.Now
		ago, ahead := now.AddDate(0, 0, -int(n)), now.AddDate(0, 0, int(n))
		switch op.Operator {
		case "IS_LESS_THAN_X_DAYS_AGO":
			return func(h time.Time) bool { return h.After(ago) && !h.After(now) }, nil
		case "IS_MORE_THAN_X_DAYS_AGO":
			return func(h time.Time) bool { return h.Before(ago) }, nil
		case "IS_LESS_THAN_X_DAYS_FROM_NOW":
			return func(h time.Time) bool { return !h.Before(now) && h.Before(ahead) }, nil
		}
		return func(h time.Time) bool { return h.After(ahead) }, nil
	case "CALENDAR_DATE":
		start, add, err := unitStart(op.TimeUnit, env.Now.UTC())
		if err != nil {
			return nil, err
		}
		count := 1
		if len(op.TimeUnitCount) > 0 {
			c, err := scalarNumber(op.TimeUnitCount)
			if err != nil || c < 1 {
				return nil, fmt.Errorf("timeUnitCount must be a positive number")
			}
			count = int(c)
		}
		var lo, hi time.Time
		switch op.Operator {
		case "IN_LAST_TIME_UNIT":
			lo, hi = add(start, -count), start
		case "IN_THIS_TIME_UNIT":
			lo, hi = start, add(start, 1)
		case "IN_THIS_TIME_UNIT_SO_FAR":
			lo, hi = start, env.Now.Add(time.Nanosecond)
		default: // IN_NEXT_TIME_UNIT
			lo, hi = add(start, 1), add(start, 1+count)
		}
		return func(h time.Time) bool { return !h.Before(lo) && h.Before(hi) }, nil
	case "COMPARATIVE_DATE":
		other, ok := env.Get(op.ComparisonPropertyName)
		if !ok || other == "" {
			other, _ = scalarString(op.DefaultComparisonValue)
		}
		t, ok := spoke.ParseTime(other)
		if !ok {
			return never, nil
		}
		if op.Operator == "IS_AFTER" {
			return func(h time.Time) bool { return h.After(t) }, nil
		}
		return func(h time.Time) bool { return h.Before(t) }, nil
	}
	return nil, fmt.Errorf("operationType %s is not a date operation", strconv.Quote(op.OperationType))
}

// timePointProperty returns the property a PROPERTY_REFERENCED time point
// names, or "".
func timePointProperty(raw json.RawMessage) string {
	var p timePoint
	if len(raw) == 0 || json.Unmarshal(raw, &p) != nil || p.TimeType != "PROPERTY_REFERENCED" {
		return ""
	}
	return p.Property
}

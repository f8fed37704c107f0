package jsonfmt

import (
	"math"
	"time"
)

// EdgeMicros returns µs since the epoch around the edges of AppendUTC's
// range and of the calendar (leap rules, year 0, the int64 limits): the
// times worth checking any formatter of µs timestamps at. For tests.
func EdgeMicros() []int64 {
	var us []int64
	day := int64(86400e6)
	for _, d := range []time.Time{
		time.Unix(0, 0),
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(0, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1900, 2, 28, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1600, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(400, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2038, 1, 19, 3, 14, 7, 0, time.UTC),
		time.Date(2023, 11, 14, 22, 13, 20, 1000, time.UTC),
	} {
		u := d.UnixMicro()
		for _, o := range []int64{-day - 1, -day, -1e6, -1, 0, 1, 999_999, 1e6, day - 1, day} {
			us = append(us, u+o)
		}
	}
	return append(us, math.MinInt64, math.MinInt64+1, math.MaxInt64, math.MaxInt64-1, -1, 1)
}

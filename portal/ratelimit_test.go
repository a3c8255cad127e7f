package main

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiterRefillsAndForgets(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(rate{Burst: 2, Every: time.Minute})
	l.now = func() time.Time { return now }
	for i := range 2 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("take %d refused within the burst", i+1)
		}
	}
	if ok, wait := l.allow("a"); ok || wait != time.Minute {
		t.Fatalf("third take: %v, wait %v; want refused for a minute", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("another key shares the first one's bucket")
	}
	now = now.Add(30 * time.Second)
	if ok, wait := l.allow("a"); ok || wait != 30*time.Second {
		t.Fatalf("after 30 s: %v, wait %v; want refused for 30 s more", ok, wait)
	}
	now = now.Add(30 * time.Second)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("a token did not come back after a minute")
	}
	// Many keys: once their buckets have refilled, they are forgotten.
	now = now.Add(time.Hour)
	l.allow("a")
	l.allow("a")
	for i := range limiterMaxKeys {
		l.allow(fmt.Sprint("k", i))
	}
	now = now.Add(time.Hour)
	l.allow("new")
	if len(l.buckets) > 2 {
		t.Errorf("%d buckets kept after the sweep", len(l.buckets))
	}
}

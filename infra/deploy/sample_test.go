package deploy

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wxfn/wxfn/shared/fn"
)

var update = flag.Bool("update", false, "rewrite testdata/sample/serverless.yml from sampleSpecs")

// sampleSpecs is a catalog with every shape the generator handles: a URL function, a URL function
// with a daily timer and object storage, one with an every-minute timer, and a timer-only
// function with two timers and a dash in its name. testdata/sample holds the serverless.yml the
// generator makes from it and the CloudFormation template serverless@3.40.0 compiled from that
// (see testdata/sample/README.md).
func sampleSpecs() []fn.Spec {
	return []fn.Spec{
		{
			Name:        "login",
			Description: "Mini-program login: code2session, session tokens, phone number, encrypted data",
			URL:         true,
			MemoryMB:    128,
			Timeout:     10 * time.Second,
			Settings: []string{
				"MONGODB_URI", "MONGODB_DATABASE", "SESSION_SECRET", "SESSION_TTL", "DATA_KEY",
				"WX_APPID", "WX_SECRET", "WX_API_BASE",
			},
		},
		{
			Name: "reconcile", Description: "Daily bill reconciliation", URL: true,
			Timeout: 60 * time.Second, MemoryMB: 256,
			Schedules: []fn.ScheduleSpec{{Name: "daily", Daily: "10:30"}},
			Settings:  []string{"MONGODB_URI", "BLOB_URL", "ADMIN_KEYS"},
		},
		{
			Name: "submsg", URL: true,
			Schedules: []fn.ScheduleSpec{{Name: "drain", Every: time.Minute}},
			Settings:  []string{"MONGODB_URI", "WX_APPID", "WX_SECRET"},
		},
		{
			Name: "cron-only",
			Schedules: []fn.ScheduleSpec{
				{Name: "tick", Every: 2 * time.Hour},
				{Name: "tock", Every: 5 * time.Minute},
			},
		},
	}
}

// TestSampleGolden pins the generator's AWS output for sampleSpecs to the file the sample
// CloudFormation template was compiled from, so that template stays a faithful fixture.
func TestSampleGolden(t *testing.T) {
	got, err := AWS(sampleSpecs())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "sample", "serverless.yml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("AWS(sampleSpecs()) differs from %s%s; if intended, run go test ./infra/deploy -run TestSampleGolden -update and recompile the template (testdata/sample/README.md)",
			path, firstDifference(want, got))
	}
}

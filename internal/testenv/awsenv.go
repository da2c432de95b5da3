package testenv

import "os"

// UseLocalAWSEnv gives the process static AWS credentials and a region when it has none,
// as SetAWSTestEnv does for one test. Call it from TestMain in packages whose tests run
// in parallel, where t.Setenv is not allowed.
func UseLocalAWSEnv() {
	for k, v := range map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"} {
		if os.Getenv(k) == "" {
			_ = os.Setenv(k, v)
		}
	}
}

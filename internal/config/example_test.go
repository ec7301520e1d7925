package config_test

import (
	"errors"
	"fmt"

	"github.com/camrelay/camrelay/internal/config"
)

func ExampleParse() {
	file := []byte(`
listen: ":8080"
cameras:
  - id: front
    source: push
    token: ${FRONT_TOKEN}
  - id: porch
    source: mjpeg
    url: http://192.168.1.50:81/stream
`)
	getenv := func(name string) string {
		return map[string]string{"FRONT_TOKEN": "s3cret"}[name]
	}
	c, err := config.Parse("camrelay.yaml", file, getenv)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, cam := range c.Cameras {
		fmt.Println(cam.ID, cam.Source, cam.OfflineAfter)
	}
	// Output:
	// front push 5s
	// porch mjpeg 5s
}

func ExampleParse_problems() {
	file := []byte(`
limits:
  ring: 0
cameras:
  - id: front
    source: push
    tokn: ${FRONT_TOKEN}
  - id: front
    source: serial
`)
	_, err := config.Parse("camrelay.yaml", file, nil)
	fmt.Println(err)

	var cfgErr *config.Error
	if errors.As(err, &cfgErr) {
		fmt.Println(len(cfgErr.Problems), "problems")
	}
	// Output:
	// camrelay.yaml:3: limits.ring: 0 is out of range (use 1 to 256)
	// camrelay.yaml:7: cameras[0].tokn: unknown key (did you mean "token"?)
	// camrelay.yaml:8: cameras[1].id: duplicate id "front", already used by cameras[0] at line 5 (ids must be unique)
	// camrelay.yaml:8: cameras[1].device: a serial camera needs a device (such as device: /dev/ttyUSB0)
	// 4 problems
}

func ExampleConfig_Validate() {
	c := config.Demo()
	c.Listen = "8080" // as if from a --listen flag
	fmt.Println(c.Validate())
	// Output:
	// listen: "8080" is not a host:port address (write e.g. :8080 or 127.0.0.1:8080)
}

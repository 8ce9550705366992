// Command etcd builds the etcd server used by the integration tests. It is a nested module so
// that etcd's dependencies stay out of the tool's own go.mod.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}

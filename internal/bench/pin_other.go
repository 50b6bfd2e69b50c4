//go:build !linux

package bench

import "fmt"

func pinAway(list string) error {
	return fmt.Errorf("%w: --server-cpus needs Linux", ErrOptions)
}

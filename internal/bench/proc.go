package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux the bench runs on.
const clockTicks = 100

// procCPU returns the user+system CPU seconds of process pid ("self" for
// this one) from /proc/<pid>/stat.
func procCPU(pid string) (float64, error) {
	name := "/proc/" + pid + "/stat"
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis. utime and stime are fields 14 and 15
	// of the whole line, 12 and 13 (from 0) after the name.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: %q", name, b)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: %q", name, b)
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: %q", name, b)
	}
	return float64(ut+st) / clockTicks, nil
}

// procRSS returns the resident memory of process pid ("self" for this
// one) from /proc/<pid>/statm.
func procRSS(pid string) (float64, error) {
	name := "/proc/" + pid + "/statm"
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, fmt.Errorf("%s: %q", name, b)
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q", name, b)
	}
	return float64(pages * uint64(os.Getpagesize())), nil
}

// machineBusy returns the CPU seconds all the machine's cores have spent
// busy (not idle nor waiting for I/O) since boot, from /proc/stat.
func machineBusy() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 6 || string(f[0]) != "cpu" {
		return 0, fmt.Errorf("/proc/stat: %q", line)
	}
	var busy uint64
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %q", line)
		}
		if i != 3 && i != 4 && i < 8 { // not idle, iowait, guest, guest_nice
			busy += n
		}
	}
	return float64(busy) / clockTicks, nil
}

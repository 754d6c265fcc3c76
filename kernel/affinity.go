package kernel

import "golang.org/x/sys/unix"

// AllowedCPUs lists the CPUs this process may run on, in ascending order
// (sched_getaffinity), which on an unrestricted machine are the online CPUs.
func AllowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, err
	}
	var cpus []int
	for cpu := 0; cpu < len(set)*64; cpu++ {
		if set.IsSet(cpu) {
			cpus = append(cpus, cpu)
		}
	}
	return cpus, nil
}

// PinThread binds the calling OS thread to one CPU. The caller must hold its
// goroutine on the thread with runtime.LockOSThread.
func PinThread(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	return unix.SchedSetaffinity(0, &set)
}

#!/bin/sh
# lambdaops-wrapper: instrument a Lambda function with lambdaops without changing its code.
#
# The lambdaops layer puts this script at /opt/lambdaops-wrapper. With
# AWS_LAMBDA_EXEC_WRAPPER=/opt/lambdaops-wrapper, Lambda starts the runtime as
#     /opt/lambdaops-wrapper <runtime command> <arguments...>
# This script points the runtime at lambdaops.wrapper.handler, which imports the handler
# named in LAMBDAOPS_HANDLER and instruments it once, then execs the runtime command.
#
# Where the function's handler is found:
#   - the command's last argument, when it looks like a handler ("module.function" or
#     "dir/module.function"), as in "python -m awslambdaric app.handler" in container
#     images: that argument is replaced;
#   - otherwise _HANDLER, where managed runtimes read it: that variable is replaced.
# _HANDLER is also replaced whenever it names the handler that was found.
# A function already redirected to lambdaops.wrapper.handler is run as it is; a command
# with no handler to be found is run as it is, with a warning on stderr.

redirect=lambdaops.wrapper.handler

if [ "$#" -eq 0 ]; then
    echo "usage: lambdaops-wrapper COMMAND [ARGUMENT...]" >&2
    exit 2
fi

# The layer's python/ folder next to this script (/opt/python on Lambda), which managed
# runtimes already import from and container images may not: appended when missing.
case $0 in
    */*) layer=${0%/*} ;;
    *) layer=/opt ;;
esac
case $layer in
    /*) ;;
    *) layer=$PWD/$layer ;;
esac
if [ -d "$layer/python" ]; then
    case ":${PYTHONPATH-}:" in
        *":$layer/python:"*) ;;
        *)
            PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$layer/python
            export PYTHONPATH
            ;;
    esac
fi

# True for "module.function", "pkg.module.function" and "dir/module.function"; false for
# options, absolute paths, script names (*.py) and code.
looks_like_handler() {
    case $1 in
        "" | -* | /* | .* | *. | */ | *.py | *..* | *[!A-Za-z0-9_./]*) return 1 ;;
        *.*) return 0 ;;
        *) return 1 ;;
    esac
}

original=
in_argument=false
if [ "$#" -ge 2 ]; then
    for last do :; done # the last argument
    if looks_like_handler "$last"; then
        original=$last
        in_argument=true
    fi
fi
if [ -z "$original" ]; then
    original=${_HANDLER-}
fi

if [ -z "$original" ]; then
    echo "lambdaops-wrapper: no handler in _HANDLER or the command's last argument;" \
        "running the function without lambdaops" >&2
    exec "$@"
fi
if [ "$original" = "$redirect" ]; then
    exec "$@" # already redirected: LAMBDAOPS_HANDLER names the function's handler
fi

LAMBDAOPS_HANDLER=$original
export LAMBDAOPS_HANDLER
if [ "${_HANDLER-}" = "$original" ]; then
    _HANDLER=$redirect
    export _HANDLER
fi
if $in_argument; then
    # Rebuild "$@" with its last argument replaced (POSIX sh has no arrays).
    count=$#
    index=0
    for arg do
        shift
        index=$((index + 1))
        if [ "$index" -eq "$count" ]; then
            arg=$redirect
        fi
        set -- "$@" "$arg"
    done
fi
exec "$@"

//! Bounded label values: the route and its kind, the response status class, and the AWS error
//! type reduced to an allow-list.

use crate::routing::{Route, RouteKind};

/// The `route` (and `kind`) label value when no route matched.
pub const NO_ROUTE: &str = "-";

/// Lambda Invoke API error types kept as label values; anything else is `other`.
const AWS_ERROR_TYPES: &[&str] = &[
    "AccessDeniedException",
    "EC2AccessDeniedException",
    "EC2ThrottledException",
    "EC2UnexpectedException",
    "EFSIOException",
    "EFSMountConnectivityException",
    "EFSMountFailureException",
    "EFSMountTimeoutException",
    "ENILimitReachedException",
    "ExpiredTokenException",
    "IncompleteSignatureException",
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "InvalidRuntimeException",
    "InvalidSecurityGroupIDException",
    "InvalidSignatureException",
    "InvalidSubnetIDException",
    "InvalidZipFileException",
    "KMSAccessDeniedException",
    "KMSDisabledException",
    "KMSInvalidStateException",
    "KMSNotFoundException",
    "MissingAuthenticationTokenException",
    "RecursiveInvocationException",
    "RequestTooLargeException",
    "ResourceConflictException",
    "ResourceNotFoundException",
    "ResourceNotReadyException",
    "ServiceException",
    "SnapStartException",
    "SnapStartNotReadyException",
    "SnapStartTimeoutException",
    "SubnetIPAddressLimitReachedException",
    "TooManyRequestsException",
    "UnrecognizedClientException",
    "UnsupportedMediaTypeException",
];

/// Status class label values, indexed by [`class_index`].
pub(super) const STATUS_CLASSES: [&str; 6] = ["none", "1xx", "2xx", "3xx", "4xx", "5xx"];

/// What kind of route served a request (the `kind` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    FunctionUri,
    FunctionName,
    /// No route matched.
    None,
}

impl Kind {
    pub fn of(route: Option<&Route>) -> Kind {
        match route.map(|r| &r.target) {
            Some(RouteKind::FunctionUri(_)) => Kind::FunctionUri,
            Some(RouteKind::FunctionName(_)) => Kind::FunctionName,
            None => Kind::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::FunctionUri => "function_uri",
            Kind::FunctionName => "function_name",
            Kind::None => NO_ROUTE,
        }
    }

    pub(super) fn index(self) -> usize {
        match self {
            Kind::FunctionUri => 0,
            Kind::FunctionName => 1,
            Kind::None => 2,
        }
    }
}

/// The label values of a request's route: its name and kind.
pub fn route_labels(route: Option<&Route>) -> (&str, Kind) {
    (route.map_or(NO_ROUTE, |r| &*r.name), Kind::of(route))
}

/// The `status_class` label of a response status (0: nothing was written).
pub fn status_class(status: u16) -> &'static str {
    STATUS_CLASSES[class_index(status)]
}

pub(super) fn class_index(status: u16) -> usize {
    match status {
        100..=199 => 1,
        200..=299 => 2,
        300..=399 => 3,
        400..=499 => 4,
        500..=599 => 5,
        _ => 0,
    }
}

/// An AWS error type as a bounded label value: `ResourceNotFoundException` stays, the
/// `com.amazon…#Name` and `Name:detail` forms are reduced to `Name`, unknown types are `other`.
pub fn aws_error_label(raw: &str) -> &'static str {
    let name = raw.rsplit('#').next().unwrap_or(raw);
    let name = name.split(':').next().unwrap_or(name).trim();
    AWS_ERROR_TYPES
        .iter()
        .copied()
        .find(|t| *t == name)
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        assert_eq!(status_class(0), "none");
        assert_eq!(status_class(101), "1xx");
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(304), "3xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(504), "5xx");
        assert_eq!(status_class(999), "none");
    }

    #[test]
    fn aws_error_types_are_bounded() {
        assert_eq!(
            aws_error_label("ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            aws_error_label("TooManyRequestsException:http://internal.amazon.com/"),
            "TooManyRequestsException"
        );
        assert_eq!(
            aws_error_label("com.amazonaws.lambda#InvalidSignatureException"),
            "InvalidSignatureException"
        );
        assert_eq!(aws_error_label("Unknown"), "other");
        assert_eq!(aws_error_label("x".repeat(300).as_str()), "other");
    }
}
